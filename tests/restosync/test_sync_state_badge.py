"""A reservation's sync state on each platform, as its admin page and the API's
`sync` list show it: pending while a push of ours is queued, failing or dead,
synced once the platform holds our change, a conflict left as it is."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.connections import client_cache_clear
from apps.core.models import ExternalMapping, OutboundOperation
from apps.core.operations import operation_run
from apps.restosync import selectors, services
from apps.restosync.models import Reservation, SyncPlatformConfig
from apps.restosync.operations import (
    PUSH_RESERVATION,
    push_retries_run,
    reservation_push,
    sync_state_record,
)
from tests.restosync.factories import make_config, make_reservation
from tests.restosync.helpers import mapping_of, push

pytestmark = pytest.mark.django_db
State = OutboundOperation.State
Synced, Pending, Conflict = (ExternalMapping.Status.SYNCED, ExternalMapping.Status.PENDING,
                             ExternalMapping.Status.CONFLICT)


@pytest.fixture
def config(sim) -> SyncPlatformConfig:
    return make_config()


@pytest.fixture
def synced(config) -> Reservation:
    """A reservation Zenchef holds as it is here."""
    reservation = make_reservation(config.restaurant)
    [operation] = push(reservation)
    assert operation.state == State.SUCCEEDED
    assert mapping_of(reservation, config).status == Synced
    return reservation


def changed(reservation: Reservation, **changes) -> OutboundOperation:
    """Change the reservation here; the push it queued (not run yet)."""
    services.reservation_update(reservation=Reservation.objects.get(pk=reservation.pk),
                                **changes)
    return OutboundOperation.objects.filter(
        kind=PUSH_RESERVATION, payload__reservation_id=reservation.pk).latest("created_at")


def api_sync_states(reservation: Reservation) -> list[str]:
    """The statuses the API's `sync` list gives (its selector)."""
    return [state["status"]
            for state in selectors.reservation_sync_states([reservation])[reservation.pk]]


def api_sync(api_client, reservation: Reservation) -> list[tuple[str, str]]:
    body = api_client.get(f"/api/reservations/{reservation.pk}/").json()
    return [(state["platform"], state["status"]) for state in body["sync"]]


def test_it_shows_pending_while_the_push_is_queued_then_synced(config, synced, api_client):
    operation = changed(synced, party_size=4)

    assert operation.state == State.PENDING
    assert mapping_of(synced, config).status == Pending
    assert api_sync(api_client, synced) == [("zenchef", "pending")]

    assert operation_run(operation.pk).state == State.SUCCEEDED

    assert mapping_of(synced, config).status == Synced
    assert api_sync(api_client, synced) == [("zenchef", "synced")]


def test_the_admin_page_and_list_show_the_pending_badge(config, synced, manager_client):
    changed(synced, party_size=4)

    page = manager_client.get(reverse("admin:restosync_reservation_change", args=[synced.pk]))
    listed = manager_client.get(reverse("admin:restosync_reservation_changelist"))

    badge = f"zenchef: {Pending.label}"
    assert badge in page.content.decode()
    assert badge in listed.content.decode()
    assert f"zenchef: {Synced.label}" not in page.content.decode()


def test_a_failing_push_keeps_it_pending_until_a_retry_succeeds(sim, config, synced, settings):
    operation = changed(synced, party_size=4)
    # Nothing listens there: the attempt fails before reaching a platform.
    settings.ZENCHEF_API_URL = "http://127.0.0.1:9"
    client_cache_clear()

    assert operation_run(operation.pk).state in (State.FAILED, State.UNKNOWN)
    assert mapping_of(synced, config).status == Pending

    settings.ZENCHEF_API_URL = sim.base_url
    client_cache_clear()
    assert push_retries_run() == 1
    assert mapping_of(synced, config).status == Synced


def test_a_dead_push_keeps_it_pending(config, synced):
    operation = changed(synced, party_size=4)
    OutboundOperation.objects.filter(pk=operation.pk).update(state=State.DEAD)

    assert mapping_of(synced, config).status == Pending
    assert api_sync_states(synced) == [Pending]


def test_a_conflict_stays_a_conflict_when_a_push_is_queued(config, synced):
    ExternalMapping.objects.filter(pk=mapping_of(synced, config).pk).update(status=Conflict)

    operation = changed(synced, party_size=4)

    assert operation.state == State.PENDING
    assert mapping_of(synced, config).status == Conflict
    assert api_sync_states(synced) == [Conflict]


def test_a_push_of_an_older_version_leaves_it_pending_while_a_newer_waits(config, synced):
    first = changed(synced, party_size=4)
    # What the first push's worker read, before the next change committed.
    as_sent = Reservation.objects.with_links().get(pk=synced.pk)
    second = changed(synced, party_size=5)
    external_id = mapping_of(synced, config).external_id

    sync_state_record(connection=config.connection, reservation=as_sent,
                      external_id=external_id, remote={}, seen_at=None, operation_id=first.pk)
    assert mapping_of(synced, config).status == Pending

    current = Reservation.objects.with_links().get(pk=synced.pk)
    sync_state_record(connection=config.connection, reservation=current,
                      external_id=external_id, remote={}, seen_at=None, operation_id=second.pk)
    assert mapping_of(synced, config).status == Synced


def test_a_push_left_behind_by_the_state_recorded_does_not_keep_it_pending(config, synced):
    # A push still queued for a version the platform now holds (a conflict
    # settled by taking theirs records their state as agreed) sends nothing new.
    changed(synced, party_size=4)
    current = Reservation.objects.with_links().get(pk=synced.pk)

    sync_state_record(connection=config.connection, reservation=current,
                      external_id=mapping_of(synced, config).external_id, remote={},
                      seen_at=None)

    assert mapping_of(synced, config).status == Synced


def test_a_push_no_longer_sent_there_settles_the_badge(config, synced):
    operation = changed(synced, party_size=4)
    SyncPlatformConfig.objects.filter(pk=config.pk).update(is_active=False)

    done = operation_run(operation.pk)

    assert done.result == {"skipped": "no longer pushed to this platform"}
    assert mapping_of(synced, config).status == Synced


def test_a_platform_without_a_mapping_gets_none_from_a_queued_push(config):
    reservation = make_reservation(config.restaurant)

    [operation] = reservation_push(reservation=reservation)

    assert operation.state == State.PENDING
    assert mapping_of(reservation, config) is None
