"""The Microsoft simulator's Graph calendar over real HTTP: /me, events with
transactionId and Teams meetings, time zones, and Graph's error bodies."""

from __future__ import annotations

import pytest

from tests.integrations import microsoft_fixtures
from tests.integrations.microsoft_fixtures import (
    Graph,
    control,
    event_body,
    graph_for,
)

# The fixtures, where pytest finds them (an import would be an unused name for ruff).
microsoft_simulator = microsoft_fixtures.microsoft_simulator


@pytest.fixture
def sim(microsoft_simulator):
    return microsoft_simulator()


@pytest.fixture
def graph(sim):
    return graph_for(sim)


def _graph_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert response.headers["request-id"] == error["innerError"]["request-id"]
    return error


def test_it_answers_me(graph, sim):
    me = graph.get("/me").json()
    assert me["id"] == sim.mailbox.user_id
    assert me["mail"] == me["userPrincipalName"] == "MeganB@contoso.onmicrosoft.com"
    assert me["displayName"] == "Megan Bowen"


def test_it_refuses_a_missing_token(sim):
    response = Graph(sim, "").get("/me")
    error = _graph_error(response, 401, "InvalidAuthenticationToken")
    assert error["message"] == "Access token is empty."
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_an_expired_token(graph, sim):
    control(sim, "POST", "/advance", {"seconds": 3600})
    error = _graph_error(graph.get("/me"), 401, "InvalidAuthenticationToken")
    assert "expired" in error["message"]


def test_it_refuses_a_token_without_the_calendar_scope(sim):
    graph = graph_for(sim, scope="offline_access User.Read")
    _graph_error(graph.post("/me/events", event_body()), 403, "ErrorAccessDenied")


def test_it_echoes_the_client_request_id(graph):
    response = graph.get("/me", headers={"client-request-id": "abc-123"})
    assert response.headers["client-request-id"] == "abc-123"


def test_it_creates_an_event_and_answers_it_in_utc(graph):
    response = graph.post("/me/calendar/events", event_body(
        body={"contentType": "html", "content": "<p>Welcome</p>"},
        location={"displayName": "Room 1"}, categories=["Blue category"],
        attendees=[{"emailAddress": {"address": "ann@example.com", "name": "Ann"},
                    "type": "required"}]))
    assert response.status_code == 201, response.text
    event = response.json()
    # 09:00 in Brussels in March is 08:00 UTC.
    assert event["start"] == {"dateTime": "2026-03-02T08:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Europe/Brussels"
    assert event["location"]["displayName"] == "Room 1"
    assert event["attendees"] == [{"type": "required",
                                   "status": {"response": "none",
                                              "time": "0001-01-01T00:00:00Z"},
                                   "emailAddress": {"name": "Ann",
                                                    "address": "ann@example.com"}}]
    assert event["isOnlineMeeting"] is False and event["onlineMeeting"] is None
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["iCalUId"] and event["lastModifiedDateTime"].endswith("Z")
    assert "transactionId" not in event


def test_it_answers_in_the_preferred_time_zone(graph):
    event = graph.post("/me/events", event_body()).json()
    response = graph.get(f"/me/events/{event['id']}",
                         headers={"Prefer": 'outlook.timezone="Romance Standard Time"'})
    assert response.json()["start"] == {"dateTime": "2026-03-02T09:00:00.0000000",
                                        "timeZone": "Romance Standard Time"}


def test_it_never_creates_an_event_twice_for_one_transaction_id(graph, sim):
    first = graph.post("/me/events", event_body(transactionId="hub-event-42"))
    second = graph.post("/me/events", event_body(subject="Retried", transactionId="hub-event-42"))
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["subject"] == "Onboarding"
    assert first.json()["transactionId"] == "hub-event-42"
    assert len(sim.mailbox.events) == 1
    assert sim.mailbox.state()["duplicate_creates"] == 1


def test_it_gives_a_teams_meeting_to_an_online_event_for_good(graph):
    event = graph.post("/me/events", event_body(isOnlineMeeting=True,
                                                onlineMeetingProvider="teamsForBusiness")).json()
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    join_url = event["onlineMeeting"]["joinUrl"]
    assert join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    # "Outlook ignores any further changes to isOnlineMeeting".
    patched = graph.patch(f"/me/events/{event['id']}", {"isOnlineMeeting": False}).json()
    assert patched["isOnlineMeeting"] is True
    assert patched["onlineMeeting"]["joinUrl"] == join_url


def test_it_updates_and_deletes_an_event(graph):
    event = graph.post("/me/events", event_body()).json()
    patched = graph.patch(f"/me/events/{event['id']}", {"subject": "Moved", "showAs": "tentative"})
    assert patched.status_code == 200
    assert patched.json()["subject"] == "Moved" and patched.json()["showAs"] == "tentative"
    assert patched.json()["changeKey"] != event["changeKey"]
    assert graph.delete(f"/me/events/{event['id']}").status_code == 204
    _graph_error(graph.get(f"/me/events/{event['id']}"), 404, "ErrorItemNotFound")


def test_it_answers_404_for_an_unknown_event_or_calendar(graph):
    _graph_error(graph.patch("/me/events/AAMkunknown", {"subject": "x"}), 404,
                 "ErrorItemNotFound")
    _graph_error(graph.post("/me/calendars/AAMkunknown/events", event_body()), 404,
                 "ErrorItemNotFound")


def test_it_refuses_an_unknown_property_as_graph_does(graph):
    error = _graph_error(graph.post("/me/events", event_body(colour="blue")), 400,
                         "RequestBodyRead")
    assert "'colour' does not exist on type 'microsoft.graph.event'" in error["message"]


def test_it_refuses_an_unknown_time_zone(graph):
    _graph_error(graph.post("/me/events", event_body(zone="Mars/Olympus")), 400,
                 "TimeZoneNotSupportedException")


def test_it_creates_events_in_a_second_calendar(graph, sim):
    calendar = control(sim, "POST", "/calendars", {"name": "Trainings"}).json()
    created = graph.post(f"/me/calendars/{calendar['id']}/events", event_body())
    assert created.status_code == 201
    listed = graph.get(f"/me/calendars/{calendar['id']}/events").json()["value"]
    assert [e["id"] for e in listed] == [created.json()["id"]]
    assert graph.get("/me/calendar/events").json()["value"] == []


def test_it_pages_an_event_list(graph):
    for number in range(3):
        graph.post("/me/events", event_body(subject=f"E{number}"))
    first = graph.get("/me/events", params={"$top": "2"}).json()
    assert [e["subject"] for e in first["value"]] == ["E0", "E1"]
    second = graph.get(first["@odata.nextLink"]).json()
    assert [e["subject"] for e in second["value"]] == ["E2"]
    assert "@odata.nextLink" not in second


def test_it_lets_the_mailbox_owner_change_events(graph, sim):
    made = control(sim, "POST", "/events", event_body(subject="Owner's")).json()
    control(sim, "PATCH", f"/events/{made['id']}", {"subject": "Owner's, moved"})
    assert graph.get(f"/me/events/{made['id']}").json()["subject"] == "Owner's, moved"
    assert control(sim, "DELETE", f"/events/{made['id']}").status_code == 204
    assert control(sim, "GET", "/events").json()["value"] == []


def test_it_answers_an_unknown_segment_as_graph_does(graph):
    _graph_error(graph.get("/me/nothing"), 400, "BadRequest")


def test_it_refuses_plainly_what_it_does_not_model(graph):
    recurrence = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                  "range": {"type": "noEnd", "startDate": "2026-03-02"}}
    _graph_error(graph.post("/me/events", event_body(recurrence=recurrence)), 501,
                 "NotImplemented")
    assert graph.post("/me/events", event_body(recurrence=None)).status_code == 201
