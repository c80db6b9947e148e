"""The Google simulator's push channels over real HTTP, received by a local endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.core.local_server import WebhookReceiver
from tests.integrations.conftest import GoogleApi

EVENT = {"summary": "Team meeting",
         "start": {"dateTime": "2026-12-10T09:00:00+01:00"},
         "end": {"dateTime": "2026-12-10T10:00:00+01:00"}}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(path="/webhooks/google").start()
    yield server
    server.stop()


def _watch(api, receiver, channel_id: str = "chan-1", **extra) -> dict:
    answer = api.call("POST", "/calendars/primary/events/watch", json={
        "id": channel_id, "type": "web_hook", "address": receiver.url,
        "token": "secret-channel-token", **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_watch_answers_the_channel_and_sends_a_sync_message(google_api, receiver):
    channel = _watch(google_api, receiver)

    headers, body = receiver.wait_for_count(1)[0]

    assert channel["kind"] == "api#channel"
    assert channel["id"] == "chan-1"
    assert channel["resourceId"]
    assert channel["resourceUri"].endswith("/calendar/v3/calendars/sim.user@example.com/"
                                           "events?alt=json")
    assert channel["token"] == "secret-channel-token"
    # A week by default, in milliseconds, as a string (int64 in Google's JSON).
    expiration_ms = int(channel["expiration"])
    assert abs(expiration_ms / 1000 - (time.time() + 7 * 24 * 3600)) < 60
    assert body == b""
    assert headers["x-goog-channel-id"] == "chan-1"
    assert headers["x-goog-channel-token"] == "secret-channel-token"
    assert headers["x-goog-resource-id"] == channel["resourceId"]
    assert headers["x-goog-resource-uri"] == channel["resourceUri"]
    assert headers["x-goog-resource-state"] == "sync"
    assert headers["x-goog-message-number"] == "1"
    assert headers["x-goog-channel-expiration"].endswith(" GMT")
    assert headers["user-agent"].startswith("APIs-Google")


def test_every_change_is_notified_with_the_next_message_number(google_api, receiver):
    _watch(google_api, receiver)
    event = google_api.call("POST", "/calendars/primary/events", json=EVENT).json()
    google_api.call("PATCH", f"/calendars/primary/events/{event['id']}",
                    json={"summary": "Moved"})
    google_api.control("DELETE", f"/calendars/sim.user@example.com/events/{event['id']}")

    hits = receiver.wait_for_count(4)

    assert [headers["x-goog-resource-state"] for headers, _ in hits] == [
        "sync", "exists", "exists", "exists"]
    assert [headers["x-goog-message-number"] for headers, _ in hits] == ["1", "2", "3", "4"]
    assert all(body == b"" for _, body in hits)


def test_a_change_by_the_calendars_owner_is_notified(google_api, receiver):
    _watch(google_api, receiver)

    google_api.control("POST", "/calendars/sim.user@example.com/events", json=EVENT)

    assert receiver.wait_for_count(2)[1][0]["x-goog-resource-state"] == "exists"


def test_a_stopped_channel_receives_nothing_more(google_api, receiver):
    channel = _watch(google_api, receiver)
    receiver.wait_for_count(1)

    stopped = google_api.call("POST", "/channels/stop",
                              json={"id": "chan-1", "resourceId": channel["resourceId"]})
    unknown = google_api.call("POST", "/channels/stop",
                              json={"id": "chan-1", "resourceId": channel["resourceId"]})
    google_api.call("POST", "/calendars/primary/events", json=EVENT)
    google_api.sim.deliver_notifications()

    assert stopped.status_code == 204
    assert unknown.status_code == 404
    assert unknown.json()["error"]["errors"][0]["reason"] == "notFound"
    assert len(receiver.hits) == 1


def test_an_expired_channel_receives_nothing_more(google_api, receiver):
    _watch(google_api, receiver, params={"ttl": "3600"})
    receiver.wait_for_count(1)
    google_api.control("POST", "/advance", json={"seconds": 3601})
    google_api.access_token = google_api.token(
        grant_type="refresh_token", refresh_token=google_api.refresh_token).json()["access_token"]

    google_api.call("POST", "/calendars/primary/events", json=EVENT)
    google_api.sim.deliver_notifications()

    assert len(receiver.hits) == 1
    state = google_api.control("GET", "/channels").json()["channels"][0]
    assert state["status"] == "expired"


def test_a_channel_id_in_use_is_refused_and_a_long_expiration_is_cut(google_api, receiver):
    wanted = int((time.time() + 90 * 24 * 3600) * 1000)
    channel = _watch(google_api, receiver, expiration=wanted)

    again = google_api.call("POST", "/calendars/primary/events/watch", json={
        "id": "chan-1", "type": "web_hook", "address": receiver.url})

    assert abs(int(channel["expiration"]) / 1000 - (time.time() + 30 * 24 * 3600)) < 60
    assert again.status_code == 400
    assert again.json()["error"]["errors"][0]["reason"] == "channelIdNotUnique"


def test_https_is_required_when_the_simulator_is_strict(google_simulator, receiver):
    api = GoogleApi(google_simulator(require_https=True)).connect()

    answer = api.call("POST", "/calendars/primary/events/watch", json={
        "id": "chan-1", "type": "web_hook", "address": receiver.url})

    assert answer.status_code == 400
    assert "must be HTTPS" in answer.json()["error"]["message"]


def test_a_failed_notification_is_retried(google_simulator):
    failing = WebhookReceiver(path="/webhooks/google", fail_first=1).start()
    try:
        api = GoogleApi(google_simulator(push_retry_seconds=0.05)).connect()
        _watch(api, failing)

        headers, _ = failing.wait_for_count(1)[0]

        assert len(failing.hits) == 2
        assert headers["x-goog-message-number"] == "1"
    finally:
        failing.stop()


def test_a_deleted_calendar_notifies_not_exists(google_api, receiver):
    google_api.control("POST", "/calendars", json={"id": "team@example.com",
                                                   "summary": "Team"})
    answer = google_api.call("POST", "/calendars/team@example.com/events/watch", json={
        "id": "chan-team", "type": "web_hook", "address": receiver.url})
    assert answer.status_code == 200

    google_api.control("DELETE", "/calendars/team@example.com")

    hits = receiver.wait_for_count(2)
    assert hits[1][0]["x-goog-resource-state"] == "not_exists"
    assert google_api.call("GET", "/calendars/team@example.com/events").status_code == 404
