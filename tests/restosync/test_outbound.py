"""Outbound: reservation changes pushed to Zenchef through the outbox, against the simulator."""

from __future__ import annotations

import json

import pytest
import requests
from django.utils import timezone

from apps.core.connections import client_cache_clear
from apps.core.models import AttentionItem, OutboundOperation, SyncLog
from apps.core.operations import operation_run
from apps.core.sync import mapping_upsert
from apps.restosync import services
from apps.restosync.models import (
    ENTITY_ROOM,
    ENTITY_TABLE,
    Reservation,
    SyncPlatformConfig,
)
from apps.restosync.operations import (
    PUSH_RESERVATION,
    PUSH_RETRY,
    push_retries_pending,
    push_retries_run,
    reservation_push,
)
from tests.restosync.factories import (
    DiningRoomFactory,
    DiningTableFactory,
    make_config,
    make_reservation,
)
from tests.restosync.helpers import mapping_of, push, sim_bookings

pytestmark = pytest.mark.django_db
State = OutboundOperation.State


@pytest.fixture
def config(sim) -> SyncPlatformConfig:
    return make_config()


def test_it_creates_the_booking_with_our_id_and_maps_it(sim, config):
    reservation = make_reservation(config.restaurant, notes="Window seat")

    [operation] = push(reservation)

    assert operation.state == State.SUCCEEDED
    assert operation.result["action"] == "create"
    [booking] = sim_bookings(sim)
    assert booking["externalReferenceId"] == str(reservation.pk)
    assert booking["numberOfPeople"] == 2
    mapping = mapping_of(reservation, config)
    assert mapping.external_id == booking["uid"]
    assert mapping.raw["local_version"] == reservation.version
    # The mapping table is not encrypted: the guest's contact is only a hash there.
    assert "+32" not in str(mapping.raw) and "ann@example.test" not in str(mapping.raw)


def test_it_resolves_room_and_tables_and_leaves_out_what_has_no_mapping(sim, config, caplog):
    restaurant = config.restaurant
    room = DiningRoomFactory(restaurant=restaurant)
    mapped, unmapped = (DiningTableFactory(restaurant=restaurant, room=room) for _ in range(2))
    mapping_upsert(entity_type=ENTITY_TABLE, local_id=mapped.pk, connection=config.connection,
                   external_id="13")
    reservation = make_reservation(restaurant, dining_room=room, tables=[mapped, unmapped])

    [operation] = push(reservation)

    assert operation.state == State.SUCCEEDED
    assert sorted(operation.result["unmapped"]) == [ENTITY_ROOM, ENTITY_TABLE]
    [booking] = sim_bookings(sim)
    assert [table["id"] for table in booking["tables"]] == [13]
    assert f"reservation {reservation.pk}: its dining_room has no zenchef mapping" in caplog.text


def test_a_change_is_a_partial_update_of_the_same_booking(sim, config):
    reservation = make_reservation(config.restaurant)
    push(reservation)
    reservation = services.reservation_update(reservation=reservation, party_size=4)

    [operation] = push(reservation)

    assert operation.result["action"] == "update"
    [booking] = sim_bookings(sim)
    assert booking["numberOfPeople"] == 4
    sent = SyncLog.objects.filter(action="zenchef.booking.update").latest("created_at")
    assert json.loads(sent.request_body) == {"numberOfPeople": 4}


def test_a_newer_change_supersedes_a_pending_push(sim, config):
    reservation = make_reservation(config.restaurant)
    [first] = reservation_push(reservation=reservation)
    reservation = services.reservation_update(reservation=reservation, party_size=3)
    [second] = reservation_push(reservation=reservation)

    first.refresh_from_db()
    assert first.state == State.SUPERSEDED
    assert operation_run(second.pk).state == State.SUCCEEDED
    [booking] = sim_bookings(sim)
    assert booking["numberOfPeople"] == 3


@pytest.mark.parametrize("status", [Reservation.Status.CANCELLED, Reservation.Status.NO_SHOW])
def test_cancelled_and_no_show_cancel_the_booking(sim, config, status):
    reservation = make_reservation(config.restaurant)
    push(reservation)
    reservation = services.reservation_update(reservation=reservation, status=status)

    [operation] = push(reservation)

    assert operation.result["action"] == "cancel"
    assert sim_bookings(sim)[0]["status"] == "CANCELLED"


def test_seated_checks_in_and_completed_checks_out_never_twice(sim, config):
    reservation = make_reservation(config.restaurant)
    push(reservation)
    reservation = services.reservation_update(reservation=reservation,
                                              status=Reservation.Status.SEATED)

    [operation] = push(reservation)
    assert operation.result["action"] == "update+check_in"
    assert sim_bookings(sim)[0]["checkInDateTime"]
    # The same push again, as after a lost answer: the toggle is read, not flipped back.
    again = reservation_push(reservation=reservation, cause="redelivered")[0]
    OutboundOperation.objects.filter(pk=again.pk).update(needs_reconcile=True)
    assert operation_run(again.pk).state == State.SUCCEEDED
    assert sim_bookings(sim)[0]["checkInDateTime"]

    reservation = services.reservation_update(reservation=reservation,
                                              status=Reservation.Status.COMPLETED)
    [operation] = push(reservation)
    assert operation.result["action"] == "update+check_out"
    booking = sim_bookings(sim)[0]
    assert booking["checkInDateTime"] and booking.get("checkOutDateTime")


def test_a_timeout_after_create_never_leaves_two_bookings(sim, config, settings):
    settings.ZENCHEF_READ_TIMEOUT_SECONDS = 0.5
    client_cache_clear()
    requests.post(f"{sim.base_url}/_sim/platform-faults",
                  json={"timeout_after_create": 1, "timeout_after_create_seconds": 2},
                  timeout=5)
    reservation = make_reservation(config.restaurant)

    [operation] = push(reservation)
    assert operation.state == State.UNKNOWN
    assert operation.needs_reconcile
    OutboundOperation.objects.filter(pk=operation.pk).update(next_attempt_at=timezone.now())
    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED
    assert operation.result["action"] == "found"
    [booking] = sim_bookings(sim)
    assert mapping_of(reservation, config).external_id == booking["uid"]


def test_a_platform_master_for_reservations_gets_no_push_until_the_floor_takes_over(sim):
    config = make_config(master_for=["reservation"])
    reservation = make_reservation(config.restaurant)

    assert reservation_push(reservation=reservation) == []
    reservation = services.reservation_update(reservation=reservation,
                                              status=Reservation.Status.SEATED)
    assert len(reservation_push(reservation=reservation)) == 1


def test_a_config_not_syncing_reservations_or_inactive_gets_no_push(sim):
    quiet = make_config(sync_entities=["table"])
    off = make_config(is_active=False)

    for config in (quiet, off):
        assert reservation_push(reservation=make_reservation(config.restaurant)) == []


def test_it_retries_on_the_schedule_then_dies_with_an_attention_item(config, settings):
    # Nothing listens there: every attempt fails before reaching a platform.
    settings.ZENCHEF_API_URL = "http://127.0.0.1:9"
    client_cache_clear()
    reservation = make_reservation(config.restaurant)
    [operation] = reservation_push(reservation=reservation)
    assert operation.kind == PUSH_RESERVATION

    delays = []
    for _ in PUSH_RETRY.delays:
        before = timezone.now()
        operation = operation_run(operation.pk)
        assert operation.state in (State.FAILED, State.UNKNOWN)
        delays.append((operation.next_attempt_at - before).total_seconds())
        OutboundOperation.objects.filter(pk=operation.pk).update(next_attempt_at=timezone.now())
    operation = operation_run(operation.pk)

    for delay, expected in zip(delays, (60, 300, 1800, 7200, 28800), strict=True):
        assert expected <= delay <= expected * 1.1 + 1
    assert operation.state == State.DEAD
    assert AttentionItem.objects.open().filter(object_id=str(operation.pk)).exists()
    config.refresh_from_db()
    assert config.last_error


def test_retry_now_runs_the_failed_pushes_once_the_platform_is_back(sim, config, settings):
    settings.ZENCHEF_API_URL = "http://127.0.0.1:9"
    client_cache_clear()
    reservation = make_reservation(config.restaurant)
    [operation] = push(reservation)
    assert operation.state in (State.FAILED, State.UNKNOWN)
    assert push_retries_pending() == 1

    settings.ZENCHEF_API_URL = sim.base_url
    client_cache_clear()
    assert push_retries_run() == 1

    operation.refresh_from_db()
    assert operation.state == State.SUCCEEDED
    assert push_retries_pending() == 0
    assert len(sim_bookings(sim)) == 1
