"""The Zoom simulator's events: `meeting.ended` signed with the secret token
and retried, and the endpoint.url_validation handshake, over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json

import requests

from tests.core.local_server import JsonHandler, LocalServer, WebhookReceiver
from tests.integrations import zoom_fixtures
from tests.integrations.zoom_fixtures import zoom_connect

# The fixture, where pytest finds it (an import would be an unused name for ruff).
zoom_simulator = zoom_fixtures.zoom_simulator

SECRET = "zoom-secret-token"


class ValidatingEndpoint(LocalServer):
    """Answers Zoom's URL validation as a hub must (or wrongly, with `wrong=True`)."""

    def __init__(self, *, wrong: bool = False) -> None:
        self.wrong = wrong
        super().__init__()

    def _handler_class(self):
        endpoint = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                plain = body["payload"]["plainToken"]
                key = b"not the secret" if endpoint.wrong else SECRET.encode()
                self._answer(200, {"plainToken": plain, "encryptedToken": hmac.new(
                    key, plain.encode(), hashlib.sha256).hexdigest()})

        return Handler


def _meeting(sim) -> dict:
    token = zoom_connect(sim)["access_token"]
    response = requests.post(f"{sim.base_url}/v2/users/me/meetings", json={
        "topic": "Safety training", "type": 2, "start_time": "2026-02-02T08:00:00Z",
        "duration": 45, "timezone": "Europe/Brussels"},
        headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return response.json()


def _end(sim, meeting_id: int) -> dict:
    return requests.post(f"{sim.base_url}/_sim/meetings/{meeting_id}/end", json={
        "participants": [{"name": "Ann", "user_email": "ann@example.com", "duration": 2400}]},
        timeout=5).json()


def test_it_sends_meeting_ended_signed_with_the_secret_token(zoom_simulator):
    receiver = WebhookReceiver(path="/api/webhooks/zoom/1/").start()
    try:
        sim = zoom_simulator(webhook_url=receiver.url, webhook_secret=SECRET)
        meeting = _meeting(sim)
        ended = _end(sim, meeting["id"])
        [(headers, body)] = receiver.wait_for_count(1)
    finally:
        receiver.stop()
    event = json.loads(body)
    assert event["event"] == "meeting.ended"
    assert isinstance(event["event_ts"], int)
    assert event["payload"]["object"] == {
        "id": str(meeting["id"]), "uuid": ended["uuid"], "host_id": sim.user["id"],
        "topic": "Safety training", "type": 2, "start_time": "2026-02-02T08:00:00Z",
        "end_time": "2026-02-02T08:40:00Z", "duration": 45, "timezone": "Europe/Brussels"}
    stamp = headers["x-zm-request-timestamp"]
    expected = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body,
                        hashlib.sha256).hexdigest()
    assert headers["x-zm-signature"] == f"v0={expected}"


def test_it_retries_a_failed_delivery(zoom_simulator):
    receiver = WebhookReceiver(path="/hook", fail_first=2).start()
    try:
        sim = zoom_simulator(webhook_url=receiver.url, webhook_secret=SECRET,
                             webhook_retry_seconds=0.05)
        _end(sim, _meeting(sim)["id"])
        receiver.wait_for_count(1)
        statuses = [status for status, _, _ in receiver.hits]
    finally:
        receiver.stop()
    assert statuses == [500, 500, 200]


def test_it_sends_to_the_url_set_at_run_time_and_nowhere_before(zoom_simulator):
    receiver = WebhookReceiver(path="/hook").start()
    try:
        sim = zoom_simulator()
        meeting = _meeting(sim)
        _end(sim, meeting["id"])
        requests.post(f"{sim.base_url}/_sim/webhooks",
                      json={"url": receiver.url, "secret": SECRET}, timeout=5)
        _end(sim, meeting["id"])
        events = receiver.wait_until(lambda events: len(events) == 1)
    finally:
        receiver.stop()
    assert [e["event"] for e in events] == ["meeting.ended"]
    recorded = requests.get(f"{sim.base_url}/_sim/events", timeout=5).json()["events"]
    assert len(recorded) == 2


def test_it_validates_an_endpoint_that_answers_the_challenge(zoom_simulator):
    right, wrong = ValidatingEndpoint().start(), ValidatingEndpoint(wrong=True).start()
    try:
        sim = zoom_simulator(webhook_url=right.base_url + "/hook", webhook_secret=SECRET)
        validated = requests.post(f"{sim.base_url}/_sim/webhooks/validate", timeout=5).json()
        requests.post(f"{sim.base_url}/_sim/webhooks",
                      json={"url": wrong.base_url + "/hook", "secret": SECRET}, timeout=5)
        refused = requests.post(f"{sim.base_url}/_sim/webhooks/validate", timeout=5).json()
    finally:
        right.stop()
        wrong.stop()
    assert validated == {"validated": True, "status": 200}
    assert refused == {"validated": False, "status": 200}
