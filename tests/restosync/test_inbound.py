"""Inbound: Zenchef webhooks through the core inbox, applied to our reservations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

import apps.restosync.webhooks  # noqa: F401 - registers the channel and the processor
from apps.core.models import AttentionItem, Conflict, SyncLog, WebhookEvent
from apps.core.sync import mapping_get, mapping_upsert
from apps.restosync import services
from apps.restosync.inbound import UNKNOWN_STATUS
from apps.restosync.models import (
    ENTITY_RESERVATION,
    ENTITY_ROOM,
    ENTITY_TABLE,
    Reservation,
)
from tests.restosync.factories import (
    DiningRoomFactory,
    DiningTableFactory,
    make_reservation,
)
from tests.restosync.helpers import booking, deliver, mapped_reservation

pytestmark = pytest.mark.django_db


def test_it_imports_a_new_booking_with_its_room_and_tables(client, config):
    room = DiningRoomFactory(restaurant=config.restaurant)
    table = DiningTableFactory(restaurant=config.restaurant, room=room)
    mapping_upsert(entity_type=ENTITY_ROOM, local_id=room.pk, connection=config.connection,
                   external_id="1")
    mapping_upsert(entity_type=ENTITY_TABLE, local_id=table.pk, connection=config.connection,
                   external_id="13")

    response = deliver(client, config, booking(tables=[{"id": 13, "areaId": 1}]),
                       event="booking.created")

    assert response.status_code == 202
    reservation = mapped_reservation(config)
    assert reservation.dining_room == room
    assert list(reservation.tables.all()) == [table]
    assert reservation.source == Reservation.Source.ZENCHEF
    assert reservation.status == Reservation.Status.CONFIRMED
    assert reservation.customer.phone == "+32470123456"
    assert reservation.allergies == ["nuts"]
    assert reservation.duration_min == 120
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_a_table_without_mapping_is_left_out(client, config):
    deliver(client, config, booking(tables=[{"id": 99, "areaId": 7}]))

    reservation = mapped_reservation(config)
    assert reservation.dining_room is None
    assert list(reservation.tables.all()) == []


def test_a_duplicate_delivery_is_applied_once(client, config):
    body = booking()
    deliver(client, config, body, event_id="evt_same")
    response = deliver(client, config, body, event_id="evt_same")

    assert response.status_code == 200
    assert Reservation.objects.count() == 1
    assert mapped_reservation(config).version == 1
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.DUPLICATE).count() == 1


def test_the_same_state_under_another_event_id_changes_nothing(client, config):
    deliver(client, config, booking())
    deliver(client, config, booking())

    assert Reservation.objects.count() == 1
    assert mapped_reservation(config).version == 1


def test_a_change_updates_the_reservation_and_its_version(client, config):
    deliver(client, config, booking())
    deliver(client, config, booking(numberOfPeople=5, comments="Allergies: shellfish"))

    reservation = mapped_reservation(config)
    assert reservation.party_size == 5
    assert reservation.version == 2
    # Never dropped by a sync: the union of what both sides said.
    assert reservation.allergies == ["nuts", "shellfish"]


def test_an_older_event_arriving_late_is_skipped_and_logged(client, config):
    now = timezone.now()
    deliver(client, config, booking(), occurred_at=now - timedelta(minutes=5))
    deliver(client, config, booking(numberOfPeople=4), occurred_at=now)
    deliver(client, config, booking(numberOfPeople=3), occurred_at=now - timedelta(minutes=2))

    assert mapped_reservation(config).party_size == 4
    skipped = SyncLog.objects.get(status=SyncLog.Status.SKIPPED)
    assert skipped.direction == SyncLog.Direction.INBOUND
    assert "older" in skipped.error


def test_our_own_booking_is_found_by_its_reference(client, config):
    reservation = make_reservation(config.restaurant)

    deliver(client, config, booking(uid="bk-ours", externalReferenceId=str(reservation.pk),
                                    numberOfPeople=reservation.party_size))

    assert Reservation.objects.count() == 1
    mapping = mapping_get(entity_type=ENTITY_RESERVATION, local_id=reservation.pk,
                          connection=config.connection)
    assert mapping.external_id == "bk-ours"


def test_a_platform_cancel_cancels_a_confirmed_reservation(client, config):
    deliver(client, config, booking())
    deliver(client, config, booking(status="CANCELLED"), event="booking.cancelled")

    assert mapped_reservation(config).status == Reservation.Status.CANCELLED


def test_a_seated_reservation_ignores_a_platform_cancel(client, config):
    deliver(client, config, booking())
    reservation = mapped_reservation(config)
    # The floor seats the guest; the push has gone out (both sides agree on "seated").
    services.reservation_update(reservation=reservation, status=Reservation.Status.SEATED)
    deliver(client, config, booking(checkInDateTime=timezone.now().isoformat()))

    deliver(client, config, booking(status="CANCELLED", checkInDateTime=None),
            event="booking.cancelled")

    reservation = mapped_reservation(config)
    assert reservation.status == Reservation.Status.SEATED
    # Both sides said "seated": no conflict to decide.
    assert not Conflict.objects.exists()
    assert SyncLog.objects.filter(status=SyncLog.Status.SKIPPED,
                                  error__contains="platform cancel ignored").exists()


def test_an_unknown_status_is_flagged_never_mapped(client, config):
    deliver(client, config, booking())

    deliver(client, config, booking(status="ON_HOLD"))

    assert mapped_reservation(config).status == Reservation.Status.CONFIRMED
    item = AttentionItem.objects.open().get(kind=UNKNOWN_STATUS)
    assert "ON_HOLD" in item.summary


def test_an_unknown_event_name_is_flagged_and_not_applied(client, config):
    deliver(client, config, booking(), event="booking.teleported")

    assert Reservation.objects.count() == 0
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED
    assert AttentionItem.objects.open().filter(kind="restosync.unknown_event").exists()


def test_an_unknown_restaurant_is_404_and_stored_nowhere(client, config):
    response = deliver(client, config, booking(), connection_id=config.connection_id + 999)

    assert response.status_code == 404
    assert WebhookEvent.objects.count() == 0
    assert Reservation.objects.count() == 0


def test_a_forged_delivery_is_refused(client, config):
    config = services.platform_config_update(config=config, webhook_secret="another-secret")

    response = deliver(client, config, booking())

    assert response.status_code == 401
    assert Reservation.objects.count() == 0
