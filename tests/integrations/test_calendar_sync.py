"""The calendar sync engine: one run at a time, directions, the beat, the
push hand-over to the outbox (one operation per calendar, older ones
retired), filters deleting what no longer belongs, errors with the event's id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.db import transaction
from django.utils import timezone

from apps.core.connections import client_cache_clear
from apps.core.errors import ServiceError
from apps.core.models import Connection, OutboundOperation, SyncLog, SyncRun
from apps.integrations.calendar_sync import (
    PUSH_KIND,
    calendar_push_enqueue,
    calendar_push_event,
    calendar_sync_estimate,
    calendar_sync_request,
    calendar_sync_run,
)
from apps.integrations.calendars.google import google_event_id
from apps.integrations.models import Event
from apps.integrations.services import event_cancel, event_create, event_update
from apps.integrations.tasks import calendar_sync_due
from tests.integrations import calendar_fixtures
from tests.integrations.calendar_fixtures import connect_google, run_pending_pushes, sim_events
from tests.integrations.factories import default_organization, make_integration

pytestmark = pytest.mark.django_db
google_calendar = calendar_fixtures.google_calendar
START = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)


def _new_event(title="Workshop", **fields) -> Event:
    return event_create(organization=default_organization(), user=None, data={
        "title": title, "start": START, "end": START + timedelta(hours=3), "type": "workshop",
        **fields})


def test_one_sync_runs_at_a_time(google_calendar):
    first = calendar_sync_request(integration=google_calendar)  # its task waits for the commit
    second = calendar_sync_request(integration=google_calendar, trigger="automatic")
    assert second.pk == first.pk
    assert (first.status, first.trigger, first.direction) == ("running", "manual", "both")


def test_a_disconnected_integration_is_not_synced(google_calendar):
    Connection.objects.filter(pk=google_calendar.connection_id).update(status="error")
    google_calendar.connection.refresh_from_db()
    with pytest.raises(ServiceError) as refused:
        calendar_sync_request(integration=google_calendar)
    assert refused.value.code == "CONNECTION_ERROR"


def test_pushes_go_to_each_connected_calendar_and_retire_older_ones(google_calendar):
    other = make_integration(provider="google", settings={"syncDirection": "bidirectional"})
    pull_only = make_integration(provider="google",
                                 settings={"syncDirection": "external_to_attendance"})
    assert pull_only.pk
    with transaction.atomic():
        event = _new_event()
        calendar_push_enqueue(event=event)
        calendar_push_enqueue(event=event)  # the same version again: the same operations
        event = event_update(event=event, user=None, data={"title": "Workshop (v2)"})
        calendar_push_enqueue(event=event)

    operations = OutboundOperation.objects.filter(kind=PUSH_KIND).order_by("pk")
    states = [(op.connection_id, op.payload["version"], op.state) for op in operations]
    assert states == [
        (google_calendar.connection_id, 1, "superseded"), (other.connection_id, 1, "superseded"),
        (google_calendar.connection_id, 2, "pending"), (other.connection_id, 2, "pending")]
    assert {op.entity_id for op in operations} == {str(event.pk)}


def test_a_pull_only_sync_sends_nothing_and_a_push_only_one_reads_nothing(
        google_api, django_capture_on_commit_callbacks):
    google_api.control("POST", "/calendars/primary/events", json={
        "summary": "Theirs", "start": {"dateTime": "2030-06-01T10:00:00Z"},
        "end": {"dateTime": "2030-06-01T11:00:00Z"}})
    integration = connect_google(google_api, settings={"syncDirection": "attendance_to_external"})
    with django_capture_on_commit_callbacks(execute=False):
        ours = _new_event("Ours")
    with django_capture_on_commit_callbacks(execute=True):
        run = calendar_sync_request(integration=integration)
    run.refresh_from_db()
    # Handed over by the run, or by the change itself (its dispatch was not run above).
    run_pending_pushes()
    assert run.direction == "push"
    assert not Event.objects.filter(title="Theirs").exists()
    assert google_event_id(integration, ours) in sim_events(google_api)

    integration.settings = {"syncDirection": "external_to_attendance"}
    integration.save()
    with django_capture_on_commit_callbacks(execute=False):
        later = _new_event("Ours later")
        calendar_push_enqueue(event=later)
    with django_capture_on_commit_callbacks(execute=True):
        calendar_sync_request(integration=integration)
    assert Event.objects.filter(title="Theirs").exists()
    assert google_event_id(integration, later) not in sim_events(google_api)


def test_an_event_cancelled_or_filtered_out_leaves_the_calendar(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        kept = _new_event("Kept")
        calendar_push_enqueue(event=kept)
        dropped = _new_event("Dropped")
        calendar_push_enqueue(event=dropped)
    google_calendar.settings = {"syncDirection": "bidirectional",
                                "filters": {"eventTypes": ["training"]}}
    google_calendar.save()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        kept = event_cancel(event=kept, user=None)
        calendar_push_enqueue(event=kept)
        dropped = event_update(event=dropped, user=None, data={"title": "Dropped (v2)"})
        calendar_push_enqueue(event=dropped)

    remote = sim_events(google_api)
    assert remote[google_event_id(google_calendar, kept)]["status"] == "cancelled"
    assert remote[google_event_id(google_calendar, dropped)]["status"] == "cancelled"
    assert run_pending_pushes() == []  # each push ran, none left waiting
    assert not OutboundOperation.objects.filter(kind=PUSH_KIND, state="dead").exists()


def test_a_push_already_held_by_the_calendar_sends_nothing(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = _new_event()
        calendar_push_enqueue(event=event)
    exchanges = SyncLog.objects.filter(connection=google_calendar.connection).count()

    again = calendar_push_event(integration=google_calendar, event=event)

    assert again == {"skipped": "in sync",
                     "external_id": google_event_id(google_calendar, event)}
    assert SyncLog.objects.filter(connection=google_calendar.connection).count() == exchanges


def test_the_beat_syncs_what_is_due(google_calendar, django_capture_on_commit_callbacks):
    off = make_integration(provider="google", settings={"autoSync": False})
    recent = make_integration(provider="google", settings={"syncInterval": 600},
                              last_sync_at=timezone.now() - timedelta(minutes=5))
    assert off.pk and recent.pk
    with django_capture_on_commit_callbacks(execute=False):
        assert calendar_sync_due() == 1
    run = SyncRun.objects.get()
    assert (run.connection_id, run.trigger) == (google_calendar.connection_id, "automatic")


@pytest.fixture
def mocked_google(settings):
    settings.GOOGLE_API_URL = "https://google.test/calendar/v3"
    client_cache_clear()
    with responses.RequestsMock() as mocked:
        yield mocked
    client_cache_clear()


def test_a_remote_event_that_cannot_be_imported_is_an_error_with_its_id(
        google_api, mocked_google, django_capture_on_commit_callbacks):
    integration = connect_google(google_api)
    events = "https://google.test/calendar/v3/calendars/primary/events"
    mocked_google.get(events, json={"nextSyncToken": "s1", "items": [
        {"id": "broken1", "status": "confirmed", "summary": "No time"},
        {"id": "fine1", "status": "confirmed", "summary": "Fine",
         "start": {"dateTime": "2030-06-01T10:00:00Z"},
         "end": {"dateTime": "2030-06-01T11:00:00Z"}}]})
    mocked_google.post(f"{events}/watch", json={"id": "c", "resourceId": "r",
                                                "expiration": "1900000000000"})
    with django_capture_on_commit_callbacks(execute=False):
        run = calendar_sync_request(integration=integration, direction="external_to_attendance")
    run = calendar_sync_run(run_id=run.pk)

    assert (run.status, run.created, run.errors) == ("partial", 1, 1)
    assert run.error_samples[0]["record"] == "broken1"


def test_a_refused_token_ends_the_run_in_error(google_api, google_calendar,
                                               django_capture_on_commit_callbacks):
    google_api.control("POST", "/revoke-access")
    with django_capture_on_commit_callbacks(execute=True):
        run = calendar_sync_request(integration=google_calendar)
    run.refresh_from_db()
    assert run.status == "error"
    assert run.error_samples[-1]["message"]


def test_a_forced_sync_lists_the_calendar_from_scratch(google_api, google_calendar,
                                                      django_capture_on_commit_callbacks):
    google_api.control("POST", "/calendars/primary/events", json={
        "summary": "Once", "start": {"dateTime": "2030-06-01T10:00:00Z"},
        "end": {"dateTime": "2030-06-01T11:00:00Z"}})
    assert calendar_sync_estimate(integration=google_calendar) == "a few minutes"
    with django_capture_on_commit_callbacks(execute=True):
        calendar_sync_request(integration=google_calendar)
    with django_capture_on_commit_callbacks(execute=True):
        run = calendar_sync_request(integration=google_calendar, full=True)
    run.refresh_from_db()
    # Listed again, found linked and unchanged: no duplicate.
    assert (run.created, run.unchanged) == (0, 1)
    assert Event.objects.filter(title="Once").count() == 1
    assert calendar_sync_estimate(integration=google_calendar) == "less than a minute"
