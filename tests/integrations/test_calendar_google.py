"""The Google adapter alone, its HTTP mocked with `responses`: our event as
Google's resource per the mapping, filter and reminder settings; Google's
resource in our words; idempotent creates; pages, sync tokens and 410."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import responses

from apps.core.connections import client_cache_clear
from apps.core.http import PermanentError, TransientError
from apps.core.models import Credentials
from apps.integrations.calendars import FullSyncRequired, adapter_for
from apps.integrations.calendars.google import google_event_id, remote_event
from tests.integrations.factories import EventFactory, attendee, make_integration

pytestmark = pytest.mark.django_db
API = "https://google.test/calendar/v3"
EVENTS = f"{API}/calendars/primary/events"
START = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def google(settings):
    settings.GOOGLE_API_URL = API
    client_cache_clear()
    with responses.RequestsMock() as mocked:
        yield mocked
    client_cache_clear()


def _integration(**settings):
    integration = make_integration(settings=settings)
    integration.connection.set_credentials(Credentials(access_token="at", refresh_token="rt"))
    integration.connection.token_expires_at = datetime.now(UTC) + timedelta(hours=1)
    integration.connection.save()
    return integration


def _event(**fields):
    values = {"title": "Onboarding", "start": START, "end": START + timedelta(hours=1),
              "description": "Welcome", "location": "HQ", "time_zone": "Europe/Brussels",
              **fields}
    return EventFactory(**values)


def test_it_maps_our_event_per_the_integration_settings(google):
    integration = _integration(eventMapping={"titlePrefix": "HR: ", "includeDescription": False,
                                             "includeLocation": False,
                                             "includeAttendees": False, "colorId": "9"},
                               notifications={"reminders": True, "reminderMinutes": [10, 60]})
    event = _event(is_private=True)
    attendee(event, "ada@example.test")

    body = adapter_for(integration).resource(event)

    assert body["summary"] == "HR: Onboarding"
    assert body["start"] == {"dateTime": "2030-01-07T09:00:00+01:00",
                             "timeZone": "Europe/Brussels"}
    assert (body["description"], body["location"], body["colorId"]) == ("", "", "9")
    assert "attendees" not in body
    assert body["visibility"] == "private"
    assert body["reminders"]["overrides"] == [{"method": "popup", "minutes": 10},
                                              {"method": "popup", "minutes": 60}]


def test_it_sends_attendees_and_no_reminders_when_they_are_off(google):
    integration = _integration(notifications={"reminders": False})
    event = _event()
    attendee(event, "ada@example.test", name="Ada", status="accepted")

    body = adapter_for(integration).resource(event)

    assert body["attendees"] == [{"email": "ada@example.test", "displayName": "Ada",
                                  "responseStatus": "accepted"}]
    assert body["reminders"] == {"useDefault": False, "overrides": []}


def test_its_filters_keep_types_private_events_and_short_ones_out(google):
    adapter = adapter_for(_integration(filters={"eventTypes": ["training"],
                                                "excludePrivate": True, "minDuration": 30}))
    assert adapter.accepts(_event(type="training"))
    assert not adapter.accepts(_event(type="meeting"))
    assert not adapter.accepts(_event(type="training", is_private=True))
    assert not adapter.accepts(_event(type="training", end=START + timedelta(minutes=20)))


def test_a_create_is_idempotent_by_its_client_set_id(google):
    integration = _integration()
    event = _event()
    event_id = google_event_id(integration, event)
    assert re.fullmatch(r"[a-v0-9]{5,1024}", event_id)
    google.post(EVENTS, status=409, json={"error": {"code": 409, "message": "The requested "
                "identifier already exists.", "errors": [{"reason": "duplicate"}]}})
    google.put(f"{EVENTS}/{event_id}", json={"id": event_id, "status": "confirmed",
               "summary": "Onboarding", "start": {"dateTime": "2030-01-07T08:00:00Z"},
               "end": {"dateTime": "2030-01-07T09:00:00Z"}})

    remote = adapter_for(integration).create(event)

    assert remote.external_id == event_id
    assert json.loads(google.calls[0].request.body)["id"] == event_id
    assert google.calls[1].request.method == "PUT"


def test_it_lists_pages_then_keeps_the_sync_token(google):
    integration = _integration()
    google.get(EVENTS, match=[responses.matchers.query_param_matcher(
        {"maxResults": "250", "showDeleted": "false"})],
        json={"timeZone": "Europe/Brussels", "nextPageToken": "p2", "items": [
            {"id": "a1", "status": "confirmed", "summary": "Day off",
             "start": {"date": "2030-02-01"}, "end": {"date": "2030-02-02"}}]})
    google.get(EVENTS, match=[responses.matchers.query_param_matcher(
        {"maxResults": "250", "showDeleted": "false", "pageToken": "p2"})],
        json={"nextSyncToken": "s1", "items": [{"id": "b2", "status": "cancelled"}]})

    pages = list(adapter_for(integration).changes(""))

    assert [page.next_cursor for page in pages] == ["", "s1"]
    day_off = pages[0].events[0]
    # An all-day event starts at midnight in the calendar's zone.
    assert day_off.start == datetime(2030, 1, 31, 23, 0, tzinfo=UTC)
    assert pages[1].events[0].cancelled


def test_a_forgotten_sync_token_asks_for_a_full_sync(google):
    integration = _integration()
    google.get(EVENTS, status=410, json={"error": {"code": 410, "message": "Sync token is no "
               "longer valid, a full sync is required.",
               "errors": [{"reason": "fullSyncRequired"}]}})
    with pytest.raises(FullSyncRequired):
        list(adapter_for(integration).changes("old-token"))
    assert "syncToken=old-token" in google.calls[0].request.url


def test_it_reads_back_the_event_we_pushed():
    remote = remote_event({"id": "x1", "status": "confirmed", "summary": "S",
                           "visibility": "confidential",
                           "start": {"dateTime": "2030-01-07T09:00:00+01:00"},
                           "end": {"dateTime": "2030-01-07T10:00:00+01:00"},
                           "attendees": [{"email": "room@resource.test", "resource": True},
                                         {"email": "b@example.test",
                                          "responseStatus": "needsAction"}],
                           "extendedProperties": {"private": {"hubEventId": "12",
                                                              "hubVersion": "3"}}})
    assert (remote.local_id, remote.local_version, remote.is_private) == ("12", 3, True)
    assert [(a.email, a.status) for a in remote.attendees] == [("b@example.test", "invited")]
    assert remote.start == datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def test_googles_403_rate_limits_are_worth_a_retry(google):
    integration = _integration()
    google.delete(f"{EVENTS}/e1", status=403, json={"error": {
        "code": 403, "message": "Rate Limit Exceeded",
        "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded"}]}})
    google.delete(f"{EVENTS}/e2", status=403, json={"error": {
        "code": 403, "message": "Forbidden", "errors": [{"reason": "forbiddenForNonOrganizer"}]}})
    adapter = adapter_for(integration)
    with pytest.raises(TransientError):
        adapter.delete("e1")
    with pytest.raises(PermanentError):
        adapter.delete("e2")
