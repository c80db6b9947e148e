"""Calendar sync with Google end to end, over real HTTP against the Google
simulator: our events reach its calendar through the outbox, its events come
here with a sync, a forgotten sync token costs a full resync and no
duplicate, and a change on either side reaches the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from apps.core.models import ExternalMapping, SyncCursor, SyncRun
from apps.integrations.calendar_sync import calendar_push_enqueue, calendar_sync_request
from apps.integrations.calendars.google import google_event_id
from apps.integrations.models import ENTITY_EVENT, Event
from apps.integrations.services import event_create, event_update
from tests.integrations import calendar_fixtures
from tests.integrations.calendar_fixtures import run_pending_pushes, sim_events
from tests.integrations.factories import default_organization

pytestmark = pytest.mark.django_db
google_calendar = calendar_fixtures.google_calendar

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def _sync(integration, capture) -> SyncRun:
    with capture(execute=True):
        run = calendar_sync_request(integration=integration)
    run.refresh_from_db()
    return run


def _google_event(summary: str, *, hour: int = 10) -> dict:
    return {"summary": summary, "location": "Room 4",
            "start": {"dateTime": f"2030-03-05T{hour:02d}:00:00+01:00",
                      "timeZone": "Europe/Brussels"},
            "end": {"dateTime": f"2030-03-05T{hour + 1:02d}:00:00+01:00",
                    "timeZone": "Europe/Brussels"},
            "attendees": [{"email": "bob@example.test", "displayName": "Bob",
                           "responseStatus": "accepted"}]}


def test_it_puts_an_event_created_here_in_the_google_calendar(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    google_calendar.settings = {"syncDirection": "bidirectional",
                                "eventMapping": {"titlePrefix": "[Hub] ", "colorId": "5"},
                                "notifications": {"reminders": True, "reminderMinutes": [15]}}
    google_calendar.save()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = event_create(organization=default_organization(), user=None, data={
            "title": "Safety training", "description": "Bring boots", "location": "Hall B",
            "start": START, "end": START + timedelta(hours=2), "type": "training"},
            attendees=[{"email": "ada@example.test", "name": "Ada"}])
        calendar_push_enqueue(event=event)

    remote = sim_events(google_api)[google_event_id(google_calendar, event)]
    assert remote["summary"] == "[Hub] Safety training"
    assert remote["description"] == "Bring boots"
    assert remote["location"] == "Hall B"
    assert remote["colorId"] == "5"
    assert remote["reminders"] == {"useDefault": False,
                                   "overrides": [{"method": "popup", "minutes": 15}]}
    assert [attendee["email"] for attendee in remote["attendees"]] == ["ada@example.test"]
    assert remote["extendedProperties"]["private"] == {"hubEventId": str(event.pk),
                                                       "hubVersion": "1"}
    mapping = ExternalMapping.objects.get(entity_type=ENTITY_EVENT, local_id=str(event.pk))
    assert (mapping.external_id, mapping.secondary_id) == (remote["id"], "1")


def test_it_brings_an_event_created_at_google_here_with_a_sync(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    created = google_api.control("POST", "/calendars/primary/events",
                                 json=_google_event("Board meeting")).json()

    run = _sync(google_calendar, django_capture_on_commit_callbacks)

    assert (run.status, run.created, run.errors) == (SyncRun.Status.SUCCESS, 1, 0)
    assert run.kind == "integrations.calendar_sync"
    event = Event.objects.get(title="Board meeting")
    assert event.location == "Room 4"
    assert event.start == datetime(2030, 3, 5, 9, 0, tzinfo=UTC)
    assert event.time_zone == "Europe/Brussels"
    assert [(row.email, row.status) for row in event.attendances.all()] == [
        ("bob@example.test", "accepted")]
    assert ExternalMapping.objects.get(local_id=str(event.pk)).external_id == created["id"]
    # What came from Google is not pushed back to it as a new event.
    assert len(sim_events(google_api)) == 1
    google_calendar.refresh_from_db()
    assert google_calendar.last_sync_at is not None


def test_it_resyncs_in_full_after_a_410_without_duplicates(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    google_api.control("POST", "/calendars/primary/events", json=_google_event("First"))
    _sync(google_calendar, django_capture_on_commit_callbacks)
    cursor = SyncCursor.objects.get(connection=google_calendar.connection,
                                    stream="calendar:events:primary")
    assert cursor.value

    google_api.control("POST", "/sync-tokens", json={"expire": True})
    google_api.control("POST", "/calendars/primary/events", json=_google_event("Second", hour=14))
    run = _sync(google_calendar, django_capture_on_commit_callbacks)

    assert (run.status, run.created, run.unchanged) == (SyncRun.Status.SUCCESS, 1, 1)
    assert sorted(Event.objects.values_list("title", flat=True)) == ["First", "Second"]
    cursor.refresh_from_db()
    assert cursor.value
    # The new cursor works: nothing changed, nothing listed.
    run = _sync(google_calendar, django_capture_on_commit_callbacks)
    assert (run.status, run.created, run.updated, run.unchanged) == (
        SyncRun.Status.SUCCESS, 0, 0, 0)


def test_it_carries_a_change_both_ways(google_api, google_calendar,
                                       django_capture_on_commit_callbacks):
    created = google_api.control("POST", "/calendars/primary/events",
                                 json=_google_event("Kick-off")).json()
    _sync(google_calendar, django_capture_on_commit_callbacks)
    event = Event.objects.get(title="Kick-off")

    # Changed at Google: the next sync changes it here.
    google_api.control("PATCH", f"/calendars/primary/events/{created['id']}",
                       json={"summary": "Kick-off (moved)", "location": "Room 9"})
    run = _sync(google_calendar, django_capture_on_commit_callbacks)
    assert (run.updated, run.created) == (1, 0)
    event.refresh_from_db()
    assert (event.title, event.location) == ("Kick-off (moved)", "Room 9")

    # Changed here: the push changes it at Google, and the next sync sees its
    # own change come back and leaves the event alone.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = event_update(event=event, user=None, data={"title": "Kick-off 2030"})
        calendar_push_enqueue(event=event)
    remote = sim_events(google_api)[created["id"]]
    assert remote["summary"] == "Kick-off 2030"
    assert remote["location"] == "Room 9"
    run = _sync(google_calendar, django_capture_on_commit_callbacks)
    assert (run.updated, run.created, run.unchanged) == (0, 0, 1)
    event.refresh_from_db()
    assert event.title == "Kick-off 2030"


def test_a_remote_change_older_than_a_local_one_does_not_overwrite_it(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    created = google_api.control("POST", "/calendars/primary/events",
                                 json=_google_event("Review")).json()
    _sync(google_calendar, django_capture_on_commit_callbacks)
    event = Event.objects.get(title="Review")
    # Changed here (its push not sent yet), then at Google.
    with django_capture_on_commit_callbacks(execute=False):
        event = event_update(event=event, user=None, data={"title": "Review (ours)"})
    google_api.control("PATCH", f"/calendars/primary/events/{created['id']}",
                       json={"summary": "Review (theirs)"})

    run = _sync(google_calendar, django_capture_on_commit_callbacks)

    event.refresh_from_db()
    assert event.title == "Review (ours)"
    assert run.updated == 0
    # Our newer version goes to Google (handed over by the run, or by the
    # change itself, whose dispatch was not run above).
    run_pending_pushes()
    assert sim_events(google_api)[created["id"]]["summary"] == "Review (ours)"


def test_a_cancellation_reaches_the_other_side(google_api, google_calendar,
                                               django_capture_on_commit_callbacks):
    created = google_api.control("POST", "/calendars/primary/events",
                                 json=_google_event("Lunch")).json()
    _sync(google_calendar, django_capture_on_commit_callbacks)
    google_api.control("DELETE", f"/calendars/primary/events/{created['id']}")

    run = _sync(google_calendar, django_capture_on_commit_callbacks)

    assert run.deleted == 1
    assert Event.objects.get(title="Lunch").cancelled_at is not None


def test_a_deletion_hidden_by_a_410_is_found_by_the_full_resync(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    created = google_api.control("POST", "/calendars/primary/events",
                                 json=_google_event("Gone")).json()
    google_api.control("POST", "/calendars/primary/events", json=_google_event("Kept", hour=14))
    _sync(google_calendar, django_capture_on_commit_callbacks)
    google_api.control("POST", "/sync-tokens", json={"expire": True})
    google_api.control("DELETE", f"/calendars/primary/events/{created['id']}")

    run = _sync(google_calendar, django_capture_on_commit_callbacks)

    assert (run.deleted, run.unchanged, run.created) == (1, 1, 0)
    assert Event.objects.get(title="Gone").cancelled_at is not None
    assert Event.objects.get(title="Kept").cancelled_at is None
