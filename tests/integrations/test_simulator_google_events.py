"""The Google simulator's Calendar events over real HTTP: the resource, its checks, its errors."""

from __future__ import annotations

import pytest
import requests

from tests.integrations.conftest import GoogleApi

EVENT = {
    "summary": "Safety training",
    "description": "Bring your badge",
    "location": "Room 4",
    "start": {"dateTime": "2026-12-10T09:00:00+01:00", "timeZone": "Europe/Brussels"},
    "end": {"dateTime": "2026-12-10T11:00:00+01:00", "timeZone": "Europe/Brussels"},
    "attendees": [{"email": "bob@example.com", "displayName": "Bob"}],
    "colorId": "5",
    "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 30}]},
    "visibility": "private",
    "extendedProperties": {"private": {"hubEventId": "42"}},
}


def _error(response, status: int, reason: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == status
    assert body["errors"][0]["reason"] == reason
    assert body["message"] == body["errors"][0]["message"]
    return body


def test_it_inserts_an_event_with_googles_fields(google_api):
    answer = google_api.call("POST", "/calendars/primary/events", json=EVENT)

    assert answer.status_code == 200
    event = answer.json()
    assert event["kind"] == "calendar#event"
    assert event["status"] == "confirmed"
    assert event["summary"] == "Safety training"
    assert event["start"] == EVENT["start"]
    assert event["attendees"] == [{"email": "bob@example.com", "displayName": "Bob",
                                   "responseStatus": "needsAction"}]
    assert event["reminders"] == EVENT["reminders"]
    assert event["extendedProperties"] == {"private": {"hubEventId": "42"}}
    assert event["organizer"] == {"email": "sim.user@example.com", "displayName": "Sim User",
                                  "self": True}
    assert event["iCalUID"] == f"{event['id']}@google.com"
    assert event["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    assert event["sequence"] == 0
    assert event["etag"].startswith('"') and event["created"].endswith("Z")
    fetched = google_api.call("GET", f"/calendars/primary/events/{event['id']}").json()
    assert fetched == event


def test_an_insert_with_the_clients_id_is_idempotent(google_api):
    body = {**EVENT, "id": "hub0000000042"}

    first = google_api.call("POST", "/calendars/primary/events", json=body)
    second = google_api.call("POST", "/calendars/primary/events", json=body)

    assert first.status_code == 200 and first.json()["id"] == "hub0000000042"
    _error(second, 409, "duplicate")
    assert second.json()["error"]["message"] == "The requested identifier already exists."
    events = google_api.control("GET", "/calendars/sim.user@example.com/events").json()["items"]
    assert len(events) == 1


def test_it_refuses_an_id_that_is_not_base32hex(google_api):
    for bad in ("abc", "has-dash-123", "UPPERCASE1", "wxyz12345"):
        answer = google_api.call("POST", "/calendars/primary/events", json={**EVENT, "id": bad})
        _error(answer, 400, "invalid")


def test_it_checks_times_reminders_and_attendees(google_api):
    no_end = {key: value for key, value in EVENT.items() if key != "end"}
    backwards = {**EVENT, "end": {"dateTime": "2026-12-10T08:00:00+01:00"}}
    mixed = {**EVENT, "end": {"date": "2026-12-11"}}
    naive = {**EVENT, "start": {"dateTime": "2026-12-10T09:00:00"}}
    both = {**EVENT, "reminders": {"useDefault": True,
                                   "overrides": [{"method": "email", "minutes": 5}]}}
    bad_attendee = {**EVENT, "attendees": [{"email": "not-an-email"}]}

    assert _error(google_api.call("POST", "/calendars/primary/events", json=no_end),
                  400, "required")["message"] == "Missing end time."
    assert _error(google_api.call("POST", "/calendars/primary/events", json=backwards),
                  400, "timeRangeEmpty")["errors"][0]["domain"] == "calendar"
    _error(google_api.call("POST", "/calendars/primary/events", json=mixed), 400, "invalid")
    assert _error(google_api.call("POST", "/calendars/primary/events", json=naive), 400,
                  "invalid")["message"] == "Missing time zone definition for start time."
    assert _error(google_api.call("POST", "/calendars/primary/events", json=both), 400,
                  "invalid")["message"] == ("Cannot specify both default reminders and "
                                            "overrides at the same time.")
    assert _error(google_api.call("POST", "/calendars/primary/events", json=bad_attendee),
                  400, "invalid")["message"] == "Invalid attendee email."
    bad_json = google_api.call("POST", "/calendars/primary/events", data=b"{nope",
                               headers={"Content-Type": "application/json"})
    _error(bad_json, 400, "parseError")


def test_an_all_day_event_is_accepted(google_api):
    body = {"summary": "Conference", "start": {"date": "2026-12-14"},
            "end": {"date": "2026-12-16"}}

    answer = google_api.call("POST", "/calendars/primary/events", json=body)

    assert answer.status_code == 200
    assert answer.json()["start"] == {"date": "2026-12-14"}
    assert answer.json()["reminders"] == {"useDefault": True}


def test_patch_changes_only_the_fields_given_and_update_replaces_them_all(google_api):
    event = google_api.call("POST", "/calendars/primary/events", json=EVENT).json()
    path = f"/calendars/primary/events/{event['id']}"

    patched = google_api.call("PATCH", path, json={
        "summary": "Safety training (moved)", "location": "Room 5",
        "extendedProperties": {"private": {"source": "hub"}}}).json()
    updated = google_api.call("PUT", path, json={
        "summary": "Replaced", "start": EVENT["start"], "end": EVENT["end"]}).json()

    assert patched["summary"] == "Safety training (moved)"
    assert patched["description"] == "Bring your badge"
    assert patched["extendedProperties"] == {"private": {"hubEventId": "42", "source": "hub"}}
    # A new place is a new revision of the event.
    assert patched["sequence"] == 1
    assert patched["etag"] != event["etag"]
    assert updated["summary"] == "Replaced"
    assert "description" not in updated and "attendees" not in updated
    assert updated["id"] == event["id"]


def test_a_stale_if_match_is_refused_with_412(google_api):
    event = google_api.call("POST", "/calendars/primary/events", json=EVENT).json()
    path = f"/calendars/primary/events/{event['id']}"
    google_api.call("PATCH", path, json={"summary": "Changed elsewhere"})

    stale = google_api.call("PATCH", path, json={"summary": "Mine"},
                            headers={"If-Match": event["etag"]})

    _error(stale, 412, "conditionNotMet")


def test_a_deleted_event_is_cancelled_and_cannot_be_deleted_again(google_api):
    event = google_api.call("POST", "/calendars/primary/events", json=EVENT).json()
    path = f"/calendars/primary/events/{event['id']}"

    deleted = google_api.call("DELETE", path)
    again = google_api.call("DELETE", path)
    fetched = google_api.call("GET", path)

    assert deleted.status_code == 204 and deleted.content == b""
    _error(again, 410, "deleted")
    assert fetched.json()["status"] == "cancelled"
    # Its id stays taken.
    _error(google_api.call("POST", "/calendars/primary/events", json={**EVENT, "id": event["id"]}),
           409, "duplicate")


def test_unknown_calendars_and_events_are_404(google_api):
    _error(google_api.call("GET", "/calendars/nobody@example.com/events"), 404, "notFound")
    _error(google_api.call("GET", "/calendars/primary/events/abcdef12345"), 404, "notFound")


def test_it_refuses_a_missing_or_bad_token_with_401(google_api):
    google_api.access_token = "expired-or-made-up"

    bad = google_api.call("GET", "/calendars/primary/events")
    missing = google_api.call("GET", "/calendars/primary/events", headers={"Authorization": ""})

    body = _error(bad, 401, "authError")
    assert body["message"] == "Invalid Credentials"
    assert body["errors"][0]["location"] == "Authorization"
    assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    _error(missing, 401, "required")


def test_an_expired_access_token_is_401_until_refreshed(google_api):
    google_api.control("POST", "/advance", json={"seconds": 3600})

    expired = google_api.call("GET", "/calendars/primary")
    google_api.access_token = google_api.token(
        grant_type="refresh_token", refresh_token=google_api.refresh_token).json()["access_token"]

    _error(expired, 401, "authError")
    assert google_api.call("GET", "/calendars/primary").status_code == 200


def test_a_token_without_a_calendar_scope_is_403_insufficient_permissions(google_simulator):
    api = GoogleApi(google_simulator()).connect(scope="openid email")
    read_only = GoogleApi(api.sim).connect(
        scope="https://www.googleapis.com/auth/calendar.readonly")

    refused = api.call("GET", "/calendars/primary/events")
    write = read_only.call("POST", "/calendars/primary/events", json=EVENT)

    assert refused.status_code == 403
    assert refused.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
    assert refused.json()["error"]["status"] == "PERMISSION_DENIED"
    assert write.status_code == 403
    assert read_only.call("GET", "/calendars/primary/events").status_code == 200


def test_the_calendar_list_and_calendar_show_the_primary_calendar(google_api):
    entries = google_api.call("GET", "/users/me/calendarList").json()["items"]
    calendar = google_api.call("GET", "/calendars/primary").json()

    assert entries == [{"kind": "calendar#calendarListEntry", "etag": entries[0]["etag"],
                        "id": "sim.user@example.com", "summary": "sim.user@example.com",
                        "timeZone": "Europe/Brussels", "accessRole": "owner",
                        "defaultReminders": [{"method": "popup", "minutes": 10}],
                        "primary": True}]
    assert calendar["id"] == "sim.user@example.com"
    assert calendar["timeZone"] == "Europe/Brussels"


def test_an_events_scope_reads_events_but_not_the_calendar_resource(google_simulator):
    api = GoogleApi(google_simulator()).connect(
        scope="https://www.googleapis.com/auth/calendar.events")

    events = api.call("GET", "/calendars/primary/events")
    calendar = api.call("GET", "/calendars/primary")

    assert events.status_code == 200
    assert calendar.status_code == 403


def test_a_lost_answer_leaves_the_event_stored_and_the_retry_gets_409(google_api):
    google_api.control("POST", "/lose-answers", json={"count": 1, "status": 500})
    body = {**EVENT, "id": "hub0000000077"}

    lost = google_api.call("POST", "/calendars/primary/events", json=body)
    retried = google_api.call("POST", "/calendars/primary/events", json=body)
    found = google_api.call("GET", "/calendars/primary/events/hub0000000077")

    _error(lost, 500, "backendError")
    _error(retried, 409, "duplicate")
    assert found.status_code == 200 and found.json()["summary"] == "Safety training"
    assert google_api.control("GET", "/state").json()["lost_answers"] == ["hub0000000077"]


def test_a_late_answer_times_the_client_out_after_the_event_is_stored(google_api):
    google_api.control("POST", "/lose-answers", json={"count": 1, "status": 503,
                                                      "hang_seconds": 1.0})

    with pytest.raises(requests.ReadTimeout):
        requests.post(f"{google_api.api}/calendars/primary/events", timeout=(5, 0.3),
                      json={**EVENT, "id": "hub0000000078"},
                      headers={"Authorization": f"Bearer {google_api.access_token}"})

    assert google_api.call("GET", "/calendars/primary/events/hub0000000078").status_code == 200
