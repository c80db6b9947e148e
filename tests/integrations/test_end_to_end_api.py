"""Issue 13 end to end over real HTTP, driven only through /api/integrations/ and
/api/events/.

The hub runs on pytest-django's live server and the Google, Slack and Zoom
simulators on ports of their own. The test holds a manager's API token and
acts as the manager's browser for each consent: it asks the hub for the
authorization URL, opens it without following the redirect, and posts the
code and state from the provider's redirect to the hub's callback. Celery is
eager in tests, so the outbox, the syncs and the inbox run in the live
server's threads after the commit of the request that caused them, as a
worker would run them; the beat's Slack reminder task is sent from the test
(its thread is then the worker), with the clock moved to when it is due.

The simulators' /_sim/ controls are used only for the provider's side of the
story (the calendar's owner adding an event, a Zoom meeting ending with its
participants, where Zoom sends its events) and to look at what the provider
received (calendar events, Slack messages, revoked grants).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.utils import timezone

from apps.core.models import ApiToken
from apps.integrations.models import Organization
from apps.integrations.tasks import slack_reminders_due
from tests.helpers import wait_for
from tests.integrations import slack_fixtures, zoom_fixtures

slack_simulator = slack_fixtures.slack_simulator
zoom_simulator = zoom_fixtures.zoom_simulator

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The front end's page that receives the provider's redirect: the browser is
# never sent there, the test reads the code and state from the redirect.
REDIRECT_URI = "https://hub.example/integrations/callback"


class Hub:
    """The hub's two APIs, called over HTTP with a manager's token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Token {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             expected: int = 200) -> dict[str, Any]:
        """The whole answer of a call that must succeed with `expected`."""
        response = requests.request(method, self.url + path, json=body, headers=self.headers,
                                    timeout=30)
        assert response.status_code == expected, f"{method} {path}: {response.text}"
        answer = response.json()
        assert answer["success"] is True, answer
        return answer

    def data(self, method: str, path: str, body: dict[str, Any] | None = None,
             expected: int = 200) -> Any:
        return self.call(method, path, body, expected)["data"]

    def connect(self, provider: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """Connect `provider` as a manager does in the browser: the hub's
        authorization URL, the provider's consent (which redirects at once),
        then the code and state of that redirect posted to the callback."""
        body: dict[str, Any] = {"redirectUri": REDIRECT_URI}
        if settings is not None:
            body["settings"] = settings
        started = self.data("POST", f"/api/integrations/{provider}/connect", body)
        consent = requests.get(started["authUrl"], allow_redirects=False, timeout=10)
        assert consent.status_code == 302, consent.text
        back = urlsplit(consent.headers["Location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
        query = {name: values[0] for name, values in parse_qs(back.query).items()}
        assert query["state"] == started["state"]
        connected = self.data("POST", f"/api/integrations/{provider}/callback",
                              {"code": query["code"], "state": query["state"]})
        assert (connected["provider"], connected["status"]) == (provider, "connected")
        return connected

    def event_create(self, **fields: Any) -> dict[str, Any]:
        return self.data("POST", "/api/events/", fields, expected=201)

    def events(self) -> list[dict[str, Any]]:
        return self.data("GET", "/api/events/?limit=500")

    def attendance(self, event_id: int) -> list[dict[str, Any]]:
        return self.data("GET", f"/api/events/{event_id}/attendance/")


@pytest.fixture
def hub(live_server, manager_user, settings) -> Hub:
    # Google's push notifications reach the hub under test, not a port of
    # this machine where nothing (or something else) listens.
    settings.HUB_BASE_URL = live_server.url
    # A transactional test before this one emptied the tables, the default
    # organisation (created by a migration) with them; the manager, who has
    # no membership, acts for it.
    Organization.objects.get_or_create(is_default=True,
                                       defaults={"name": "Default", "slug": "default"})
    _, key = ApiToken.issue(manager_user)
    return Hub(live_server.url, key)


def sim_get(sim, path: str, **params: str) -> dict[str, Any]:
    response = requests.get(f"{sim.base_url}/_sim{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def sim_post(sim, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{sim.base_url}/_sim{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def at(start: datetime, **delta: float) -> str:
    return (start + timedelta(**delta)).isoformat()


def tomorrow_at(hour: int) -> datetime:
    day = timezone.now().astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# -- Google: connect, both ways, the statusUrl, disconnect ----------------------------------

def google_events(sim) -> list[dict[str, Any]]:
    """The calendar's live events as its owner sees them."""
    return [item for item in sim_get(sim, "/calendars/primary/events")["items"]
            if item.get("status") != "cancelled"]


# Google's push notifications reach the live server's threads while the test
# calls it: SQLite's shared in-memory test database cannot take both at once.
@pytest.mark.postgres
def test_google_calendar_both_ways_then_disconnect_revokes(hub, google_simulator):
    sim = google_simulator()
    connected = hub.connect("google", settings={"syncDirection": "bidirectional"})
    integration_id = connected["integrationId"]
    assert "write_calendar" in connected["permissions"]
    assert connected["initialSync"]["status"] == "scheduled"
    # The first sync opened a push channel, whose first message reaches the
    # hub's inbox. Awaited before the hub is used again: SQLite's shared
    # in-memory test database refuses a read during another thread's write.
    wait_for(lambda: sim_get(sim, "/state")["notifications"]["delivered"] >= 1,
             what="the channel's first notification delivered")
    assert connected["userInfo"]["email"] == sim_get(sim, "/state")["user"]

    # Here -> the calendar: an event created through the API is pushed by the outbox.
    start = tomorrow_at(9)
    ours = hub.event_create(title="Safety training", type="training", location="Hall B",
                            description="Bring boots", start=at(start), end=at(start, hours=2),
                            timeZone="Europe/Brussels")
    [pushed] = wait_for(lambda: [item for item in google_events(sim) if item.get(
        "extendedProperties", {}).get("private", {}).get("hubEventId") == str(ours["id"])],
        what="our event in the Google calendar")
    assert (pushed["summary"], pushed["location"]) == ("Safety training", "Hall B")
    assert pushed["start"]["dateTime"].startswith(start.date().isoformat())

    # The calendar -> here: its owner adds an event; a sync brings it in (the push
    # channel the first sync opened may already have asked for one).
    sim_post(sim, "/calendars/primary/events", {
        "summary": "Board meeting", "location": "Room 4",
        "start": {"dateTime": at(start, hours=5), "timeZone": "Europe/Brussels"},
        "end": {"dateTime": at(start, hours=6), "timeZone": "Europe/Brussels"}})
    # Its notification is answered once the sync it asked for has run.
    wait_for(lambda: sim_get(sim, "/state")["notifications"]["delivered"] >= 2,
             what="the change's notification delivered")

    started = hub.data("POST", f"/api/integrations/{integration_id}/sync", {}, expected=202)
    assert started["statusUrl"] == (
        f"/api/integrations/{integration_id}/sync/{started['syncId']}/status")
    # The statusUrl is polled until the run has ended.
    ended = wait_for(lambda: (lambda status: status if status["status"] in (
        "completed", "failed") else None)(hub.data("GET", started["statusUrl"])),
        what="the sync to end")

    assert (ended["status"], ended["result"]) == ("completed", "success"), ended
    assert ended["completedAt"] is not None
    assert ended["statistics"]["errors"] == 0
    # Our own event came back from the calendar as itself, not as a copy.
    assert {event["title"]: event["location"] for event in hub.events()} == {
        "Board meeting": "Room 4", "Safety training": "Hall B"}
    assert len(hub.events()) == 2
    # With the first sync the callback scheduled, and those the push channel's
    # notifications asked for (a request while one runs gets that one back).
    history = hub.data("GET", f"/api/integrations/{integration_id}/history")
    assert started["syncId"] in [run["id"] for run in history]
    assert len(history) >= 2

    # Disconnect: the push channel the sync opened is stopped, the grant revoked.
    gone = hub.data("DELETE", f"/api/integrations/{integration_id}")

    assert gone["status"] == "disconnected"
    assert gone["cleanupStatus"]["tokensRevoked"] is True
    assert gone["cleanupStatus"]["webhooksDisabled"] == 1
    oauth = sim_get(sim, "/state")["oauth"]
    assert [grant["revoked"] for grant in oauth["grants"]] == [True]
    assert [channel["status"] for channel in sim_get(sim, "/channels")["channels"]] == [
        "stopped"]
    [listed] = hub.data("GET", "/api/integrations/?provider=google")
    assert listed["status"] == "disconnected"


# -- Slack: a reminder from the beat --------------------------------------------------------

def slack_messages(sim, channel: str) -> list[dict[str, Any]]:
    return sim_get(sim, "/messages", channel=channel)["messages"]


def test_slack_receives_a_reminder_when_the_beat_finds_it_due(hub, slack_simulator):
    sim = slack_simulator()
    connected = hub.connect("slack", settings={
        "channels": {"default": "#general"},
        "messageTemplates": {"eventReminder": "Reminder: {eventName} starts in {timeUntil}"}})
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=3)
    hub.event_create(title="Forklift training", type="training", start=at(start),
                     end=at(start, hours=1))

    # The beat, as production runs it every minute: three hours before the
    # start nothing is due (the reminders are 15 and 60 minutes before). The
    # eager result is read, not awaited: Celery refuses a wait while a task of
    # the live server's threads runs.
    assert slack_reminders_due.delay().result == 0
    # Fourteen and a half minutes before the start, the 15-minute reminder is.
    with time_machine.travel(start - timedelta(minutes=14, seconds=30), tick=True):
        assert slack_reminders_due.delay().result == 1
        [message] = wait_for(lambda: slack_messages(sim, "general"),
                             what="the reminder in #general")

    assert message["text"] == "Reminder: Forklift training starts in 15\xa0minutes"
    # The next beat finds the reminder sent already: nothing is posted twice.
    with time_machine.travel(start - timedelta(minutes=13, seconds=30), tick=True):
        slack_reminders_due.delay()
    assert len(slack_messages(sim, "general")) == 1
    [listed] = hub.data("GET", "/api/integrations/?provider=slack")
    assert listed["statistics"]["messagesSent"] == 1

    gone = hub.data("DELETE", f"/api/integrations/{connected['integrationId']}")
    assert gone["cleanupStatus"]["tokensRevoked"] is True
    assert [install["revoked"] for install in sim_get(sim, "/state")["installations"]] == [True]


# -- Zoom: a meeting for a new event, its attendance imported ------------------------------

def zoom_webhook_url(hub: Hub, integration_id: int) -> str:
    """Where the Zoom app's event subscription sends `meeting.ended`: the
    integration's `webhookUrl`, which the operator copies into the Zoom app."""
    [listed] = hub.data("GET", "/api/integrations/?provider=zoom")
    assert listed["id"] == integration_id
    return listed["webhookUrl"]


def test_a_zoom_meeting_is_created_and_its_attendance_imported(hub, zoom_simulator, settings):
    sim = zoom_simulator()
    connected = hub.connect("zoom", settings={
        "autoCreateMeetings": True,
        "meetingDefaults": {"type": "scheduled", "waitingRoom": True},
        "attendanceTracking": {"enabled": True, "minimumDuration": 30}})
    integration_id = connected["integrationId"]
    sim_post(sim, "/webhooks", {"url": zoom_webhook_url(hub, integration_id),
                                "secret": settings.ZOOM_WEBHOOK_SECRET})

    start = tomorrow_at(13)
    event = hub.event_create(
        title="Quarterly review", type="meeting", start=at(start), end=at(start, minutes=90),
        attendees=[{"email": "ada@example.com", "name": "Ada", "status": "accepted"},
                   {"email": "bob@example.com", "name": "Bob", "status": "accepted"},
                   {"email": "carl@example.com", "name": "Carl", "status": "invited"}])

    [meeting] = wait_for(lambda: sim_get(sim, "/meetings")["meetings"],
                         what="the meeting at Zoom")
    assert (meeting["topic"], meeting["duration"]) == ("Quarterly review", 90)
    assert meeting["settings"]["waiting_room"] is True

    # The meeting ends at Zoom: Ada stayed 40 minutes over two sessions, Bob
    # 10, a guest who did not sign in an hour; Carl never came.
    sim_post(sim, f"/meetings/{meeting['id']}/end", {"participants": [
        {"name": "Ada", "user_email": "ada@example.com", "duration": 1800},
        {"name": "Ada", "user_email": "ada@example.com", "duration": 600},
        {"name": "Bob", "user_email": "bob@example.com", "duration": 600},
        {"name": "Guest", "duration": 3600}]})

    # Zoom's signed meeting.ended reaches the hub's inbox, which imports the
    # participants. The hub's answer to Zoom is awaited before the hub is
    # read: with Celery eager the import runs in that request, so its writes
    # are done (SQLite's shared in-memory test database refuses a read during
    # another thread's write instead of waiting).
    wait_for(lambda: sim_get(sim, "/state")["webhooks"]["delivered"] == 1,
             what="Zoom's meeting.ended delivered to the hub")

    def imported() -> dict[str, tuple[str, int, str]] | None:
        rows = {row["name"]: (row["status"], row["minutesPresent"], row["source"])
                for row in hub.attendance(event["id"])}
        return rows if rows["Ada"][0] == "present" and rows["Carl"][0] == "absent" else None

    attendance = wait_for(imported, what="the attendance imported from Zoom")

    assert attendance == {"Ada": ("present", 40, "zoom"), "Bob": ("absent", 10, "zoom"),
                          "Carl": ("absent", 0, "zoom")}

    gone = hub.data("DELETE", f"/api/integrations/{integration_id}")
    assert gone["cleanupStatus"]["tokensRevoked"] is True
    assert sim_get(sim, "/state")["revoked_grants"] == 1
