"""The Zoom simulator's API v2: the user, meetings, past meetings'
participants and the rate limits, driven over real HTTP."""

from __future__ import annotations

from urllib.parse import quote

import requests

from apps.core.simulator_kit.clock import SimClock
from tests.integrations import zoom_fixtures
from tests.integrations.zoom_fixtures import zoom_connect

# The fixture, where pytest finds it (an import would be an unused name for ruff).
zoom_simulator = zoom_fixtures.zoom_simulator

NOW = 1_767_000_000.0  # 2025-12-29T09:20:00Z
MEETING = {
    "topic": "Onboarding training", "type": 2, "start_time": "2026-01-05T09:00:00Z",
    "duration": 60, "timezone": "Europe/Paris", "password": "a1b2c3",
    "settings": {"waiting_room": True, "join_before_host": False, "mute_upon_entry": True,
                 "auto_recording": "cloud"},
}


def _encoded(meeting_uuid: str) -> str:
    """A meeting UUID in a path, as Zoom asks: encoded, twice when it starts
    with "/" or contains "//"."""
    once = quote(meeting_uuid, safe="")
    return quote(once, safe="") if meeting_uuid.startswith("/") or "//" in meeting_uuid \
        else once


class Api:
    """The API as a connected client sees it."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.headers = {"Authorization": f"Bearer {zoom_connect(sim)['access_token']}"}

    def __call__(self, method: str, path: str, headers: dict | None = None,
                 **kwargs) -> requests.Response:
        return requests.request(method, f"{self.sim.base_url}/v2{path}",
                                headers={**self.headers, **(headers or {})}, timeout=5,
                                **kwargs)

    def create(self, **changes) -> dict:
        response = self("POST", "/users/me/meetings", json={**MEETING, **changes})
        assert response.status_code == 201, response.text
        return response.json()

    def end(self, meeting_id: int, participants: list[dict]) -> dict:
        return requests.post(f"{self.sim.base_url}/_sim/meetings/{meeting_id}/end",
                             json={"participants": participants}, timeout=5).json()


def test_it_shows_the_connected_user(zoom_simulator):
    api = Api(zoom_simulator())
    me = api("GET", "/users/me").json()
    assert {key: me[key] for key in ("id", "email", "first_name", "last_name", "type")} == {
        "id": api.sim.user["id"], "email": "organiser@example.com", "first_name": "Sim",
        "last_name": "Organiser", "type": 2}
    assert api("GET", "/users/someone-else@example.com").json()["code"] == 1001


def test_it_creates_a_meeting_with_the_given_settings(zoom_simulator):
    api = Api(zoom_simulator())
    meeting = api.create()
    assert isinstance(meeting["id"], int)
    assert meeting["uuid"].endswith("==")
    assert meeting["topic"] == "Onboarding training"
    assert meeting["type"] == 2
    assert meeting["start_time"] == "2026-01-05T09:00:00Z"
    assert meeting["duration"] == 60
    assert meeting["timezone"] == "Europe/Paris"
    assert meeting["password"] == "a1b2c3"
    assert meeting["join_url"].startswith(f"https://zoom.us/j/{meeting['id']}?pwd=")
    assert meeting["start_url"].startswith(f"https://zoom.us/s/{meeting['id']}?zak=")
    assert meeting["host_email"] == "organiser@example.com"
    assert {key: meeting["settings"][key] for key in MEETING["settings"]} == MEETING["settings"]
    seen = api("GET", f"/meetings/{meeting['id']}").json()
    # The host's start link carries a fresh ZAK each time, as Zoom's does.
    assert seen.pop("start_url") != meeting.pop("start_url")
    assert seen == meeting


def test_it_refuses_an_invalid_meeting_with_the_fields_named(zoom_simulator):
    api = Api(zoom_simulator())
    refused = api("POST", "/users/me/meetings", json={
        **MEETING, "type": 5, "password": "far too long a password",
        "settings": {"auto_recording": "tape"}})
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == 300
    assert body["message"] == "Validation Failed."
    assert [error["field"] for error in body["errors"]] == [
        "type", "password", "settings.auto_recording"]
    not_json = api("POST", "/users/me/meetings", data="{",
                   headers={"Content-Type": "application/json"})
    assert not_json.json() == {"code": 300,
                               "message": "Request Body should be a valid JSON object."}


def test_it_updates_and_deletes_a_meeting(zoom_simulator):
    api = Api(zoom_simulator())
    meeting = api.create()
    updated = api("PATCH", f"/meetings/{meeting['id']}", json={
        "topic": "Onboarding (moved)", "duration": 90, "settings": {"waiting_room": False}})
    assert updated.status_code == 204
    assert updated.content == b""
    seen = api("GET", f"/meetings/{meeting['id']}").json()
    assert (seen["topic"], seen["duration"]) == ("Onboarding (moved)", 90)
    assert seen["settings"]["waiting_room"] is False
    assert seen["settings"]["mute_upon_entry"] is True
    assert api("DELETE", f"/meetings/{meeting['id']}").status_code == 204
    gone = api("GET", f"/meetings/{meeting['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"code": 3001, "message": f"Meeting does not exist: {meeting['id']}."}
    assert api("PATCH", "/meetings/123", json={"topic": "x"}).json()["code"] == 3001


def test_it_lists_the_participants_of_an_ended_meeting_page_by_page(zoom_simulator):
    api = Api(zoom_simulator())
    meeting = api.create()
    people = [{"name": f"Attendee {n}", "user_email": f"a{n}@example.com",
               "duration": 600 * (n + 1)} for n in range(5)]
    ended = api.end(meeting["id"], people)
    assert ended["participants"] == 5
    first = api("GET", f"/past_meetings/{meeting['id']}/participants",
                params={"page_size": 2}).json()
    assert (first["total_records"], first["page_size"], first["page_count"]) == (5, 2, 3)
    assert first["next_page_token"]
    row = first["participants"][0]
    assert {key: row[key] for key in ("name", "user_email", "join_time", "leave_time",
                                      "duration")} == {
        "name": "Attendee 0", "user_email": "a0@example.com",
        "join_time": "2026-01-05T09:00:00Z", "leave_time": "2026-01-05T09:10:00Z",
        "duration": 600}
    rows = list(first["participants"])
    token = first["next_page_token"]
    while token:
        page = api("GET", f"/past_meetings/{meeting['id']}/participants",
                   params={"page_size": 2, "next_page_token": token}).json()
        rows += page["participants"]
        token = page["next_page_token"]
    assert [r["duration"] for r in rows] == [600, 1200, 1800, 2400, 3000]
    # The report lists the same sessions, and the instance's uuid names it too.
    report = api("GET", f"/report/meetings/{_encoded(ended['uuid'])}/participants",
                 params={"page_size": 300}).json()
    assert [r["user_email"] for r in report["participants"]] == [r["user_email"] for r in rows]
    assert report["next_page_token"] == ""


def test_it_lists_each_session_of_a_participant_who_came_back(zoom_simulator):
    api = Api(zoom_simulator())
    meeting = api.create()
    api.end(meeting["id"], [
        {"name": "Ann", "user_email": "ann@example.com", "join_time": "2026-01-05T09:00:00Z",
         "leave_time": "2026-01-05T09:20:00Z"},
        {"name": "Ann", "user_email": "ann@example.com", "join_time": "2026-01-05T09:30:00Z",
         "duration": 900},
    ])
    rows = api("GET", f"/past_meetings/{meeting['id']}/participants").json()["participants"]
    assert [(r["user_email"], r["duration"]) for r in rows] == [
        ("ann@example.com", 1200), ("ann@example.com", 900)]


def test_it_answers_3001_for_participants_of_a_meeting_never_ended(zoom_simulator):
    api = Api(zoom_simulator())
    meeting = api.create()
    refused = api("GET", f"/past_meetings/{meeting['id']}/participants")
    assert refused.status_code == 404
    assert refused.json()["code"] == 3001


def test_it_refuses_an_expired_page_token(zoom_simulator):
    api = Api(zoom_simulator())
    meeting = api.create()
    api.end(meeting["id"], [{"name": f"P{n}", "duration": 60} for n in range(3)])
    token = api("GET", f"/past_meetings/{meeting['id']}/participants",
                params={"page_size": 1}).json()["next_page_token"]
    requests.post(f"{api.sim.base_url}/_sim/advance", json={"seconds": 15 * 60}, timeout=5)
    refused = api("GET", f"/past_meetings/{meeting['id']}/participants",
                  params={"page_size": 1, "next_page_token": token})
    assert refused.status_code == 400
    assert refused.json()["code"] == 300


def test_it_limits_requests_per_second_per_category(zoom_simulator):
    sim = zoom_simulator(clock=SimClock(lambda: NOW), rate_limits={"Light": 2})
    api = Api(sim)
    first = api("GET", "/users/me")
    assert (first.headers["X-RateLimit-Category"], first.headers["X-RateLimit-Limit"],
            first.headers["X-RateLimit-Remaining"]) == ("Light", "2", "1")
    assert api("GET", "/users/me").status_code == 200
    refused = api("GET", "/users/me")
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": "You have reached the maximum "
                              "per-second rate limit for this API. Try again later."}
    assert refused.headers["X-RateLimit-Type"] == "QPS"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # Medium has its own quota; a second later Light is free again.
    assert api("POST", "/users/me/meetings", json=MEETING).status_code == 201
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 1}, timeout=5)
    assert api("GET", "/users/me").status_code == 200


def test_it_limits_meeting_creates_and_updates_per_day(zoom_simulator):
    sim = zoom_simulator(clock=SimClock(lambda: NOW), daily_meeting_limit=2)
    api = Api(sim)
    created = api("POST", "/users/me/meetings", json=MEETING)
    assert created.headers["X-RateLimit-Remaining"] == "1"
    assert api("PATCH", f"/meetings/{created.json()['id']}",
               json={"topic": "t"}).status_code == 204
    refused = api("POST", "/users/me/meetings", json=MEETING)
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("You have exceeded the daily rate limit (2) "
                                                "of Meeting Create/Update API requests")
    assert refused.headers["X-RateLimit-Type"] == "Daily-limit"
    assert refused.headers["Retry-After"] == "2025-12-30T00:00:00Z"
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 15 * 3600}, timeout=5)
    api = Api(sim)  # the first token has expired in the meantime
    assert api("POST", "/users/me/meetings", json=MEETING).status_code == 201


def test_it_answers_an_injected_429_and_503_the_zoom_way(zoom_simulator):
    sim = zoom_simulator()
    api = Api(sim)
    requests.post(f"{sim.base_url}/_sim/faults", json={"rate_limit_every": 1}, timeout=5)
    refused = api("GET", "/users/me")
    assert refused.status_code == 429
    assert refused.json()["code"] == 429
    requests.post(f"{sim.base_url}/_sim/faults", json={"rate_limit_every": 0, "error_rate": 1},
                  timeout=5)
    unavailable = api("GET", "/users/me")
    assert unavailable.status_code == 503
    assert set(unavailable.json()) == {"code", "message"}


def test_it_forgets_everything_on_reset(zoom_simulator):
    sim = zoom_simulator()
    api = Api(sim)
    api.create()
    requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
    state = requests.get(f"{sim.base_url}/_sim/state", timeout=5).json()
    assert (state["meetings"], state["grants"]) == (0, 0)
    assert api("GET", "/users/me").json()["code"] == 124
