"""One channel per connection at /api/webhooks/<platform>/<connection id>/:
verified with that connection's secret, stored with it; any other address
is a 404 in the error shape and stores nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.fernet import Fernet

from apps.core.models import Connection, WebhookEvent
from tests.core import webhook_source
from tests.core.webhook_source import channel_connection, slack_headers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def post(url: str, body: bytes, headers: dict[str, str]):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type="application/json", headers=headers)

    return post


def _url(connection: Connection) -> str:
    return f"/api/webhooks/{connection.platform}/{connection.pk}/"


def _slack_body(event_id: str = "Ev1") -> bytes:
    return json.dumps({"type": "event_callback", "event_id": event_id,
                       "event": {"type": "app_mention"}}).encode()


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code


def test_it_accepts_a_delivery_signed_with_the_connections_secret(post):
    connection = channel_connection("slackhook", webhook_secret="slack-secret")
    body = _slack_body()

    response = post(_url(connection), body, slack_headers("slack-secret", body))

    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert (event.connection, event.status, event.event_id, event.event_type) == (
        connection, Status.PROCESSED, "Ev1", "event_callback")
    signed = b"v0:" + event.headers["X-Slack-Request-Timestamp"].encode() + b":" + body
    assert event.content_dedupe_key == (
        f"slackhook:{connection.pk}:{hashlib.sha256(signed).hexdigest()}")
    assert webhook_source.processed == [("Ev1", json.loads(body))]


@pytest.mark.parametrize("age", [-301, 301])
def test_it_rejects_a_signed_timestamp_outside_the_window(post, age):
    connection = channel_connection("slackhook", webhook_secret="slack-secret")
    body = _slack_body()

    response = post(_url(connection), body,
                    slack_headers("slack-secret", body, int(time.time()) - age))

    _assert_error(response, 401, "stale_timestamp")
    event = WebhookEvent.objects.get()
    assert (event.status, event.signature_valid, event.connection) == (
        Status.REJECTED, True, connection)
    assert webhook_source.processed == []


def test_it_verifies_each_connection_with_its_own_secret(post):
    ours = channel_connection("slackhook", "ours", webhook_secret="ours-secret")
    theirs = channel_connection("slackhook", "theirs", webhook_secret="theirs-secret")
    body = _slack_body()

    response = post(_url(theirs), body, slack_headers("ours-secret", body))

    _assert_error(response, 401, "invalid_signature")
    assert post(_url(ours), body, slack_headers("ours-secret", body)).status_code == 202


def test_it_keeps_the_events_of_two_connections_apart(post):
    """The same event id at two accounts of one platform is two events."""
    first = channel_connection("slackhook", "first", webhook_secret="s1")
    second = channel_connection("slackhook", "second", webhook_secret="s2")
    body = _slack_body("Ev-same")

    assert post(_url(first), body, slack_headers("s1", body)).status_code == 202
    assert post(_url(second), body, slack_headers("s2", body)).status_code == 202
    assert post(_url(second), body, slack_headers("s2", body)).status_code == 200

    accepted = WebhookEvent.objects.filter(status=Status.PROCESSED)
    assert {event.connection for event in accepted} == {first, second}
    assert len(webhook_source.processed) == 2


def _standard_headers(secret: str, msg_id: str, body: bytes, stamp: int) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp),
            "webhook-signature": "v1," + base64.b64encode(mac).decode()}


def test_it_takes_a_standard_webhooks_retry_as_a_duplicate(post):
    """A retry keeps its webhook-id and is signed again with a new timestamp."""
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    connection = channel_connection("stdhook", webhook_secret=secret)
    body = b'{"type": "invoice.paid", "data": {"id": 7}}'
    now = int(time.time())

    first = post(_url(connection), body, _standard_headers(secret, "msg_1", body, now - 60))
    retry = post(_url(connection), body, _standard_headers(secret, "msg_1", body, now))

    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json() == {"status": "duplicate", "event_id": "msg_1"}
    event = WebhookEvent.objects.get(status=Status.PROCESSED)
    assert (event.event_id, event.event_type) == ("msg_1", "invoice.paid")


def test_it_takes_deliveroos_sequence_guid_as_the_event_id(post):
    connection = channel_connection("roohook", webhook_secret="roo-secret")
    body = b'{"event": "order.new", "body": {"order": {"id": "gb:1"}}}'
    signature = hmac.new(b"roo-secret", b"guid-9 " + body, hashlib.sha256).hexdigest()

    response = post(_url(connection), body, {"X-Deliveroo-Sequence-Guid": "guid-9",
                                             "X-Deliveroo-Hmac-Sha256": signature})

    assert response.status_code == 202
    assert WebhookEvent.objects.get().event_id == "guid-9"


def test_it_reads_the_secret_from_the_credential_the_channel_names(post):
    connection = channel_connection("b64hook", client_secret="client-secret")
    body = b'{"id": "b-1", "event": "order.created"}'
    mac = hmac.new(b"client-secret", body, hashlib.sha256).digest()

    response = post(_url(connection), body,
                    {"X-B64hook-Signature": "sig=" + base64.b64encode(mac).decode()})

    assert response.status_code == 202
    assert WebhookEvent.objects.get().status == Status.PROCESSED


@pytest.mark.parametrize("url", [
    "/api/webhooks/nosuchplatform/1/",
    "/api/webhooks/slackhook/999999/",
    "/api/webhooks/slackhook/not-a-number/",
])
def test_it_answers_404_and_stores_nothing_for_an_unknown_channel(post, url):
    channel_connection("slackhook", webhook_secret="slack-secret")
    body = _slack_body()

    response = post(url, body, slack_headers("slack-secret", body))

    _assert_error(response, 404, "not_found")
    assert not WebhookEvent.objects.exists()


def test_it_answers_404_for_a_connection_of_another_platform(post):
    other = channel_connection("stdhook", webhook_secret="slack-secret")
    body = _slack_body()

    response = post(f"/api/webhooks/slackhook/{other.pk}/", body,
                    slack_headers("slack-secret", body))

    _assert_error(response, 404, "not_found")
    assert not WebhookEvent.objects.exists()


def test_it_refuses_anything_but_post(client):
    connection = channel_connection("slackhook", webhook_secret="slack-secret")

    _assert_error(client.get(_url(connection)), 405, "method_not_allowed")


def test_it_answers_503_and_stores_nothing_when_the_credentials_are_unreadable(post, settings):
    """The key that encrypted them is gone: our fault, so the platform sends it again."""
    connection = channel_connection("slackhook", webhook_secret="slack-secret")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    body = _slack_body()

    response = post(_url(connection), body, slack_headers("slack-secret", body))

    _assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"]
    assert not WebhookEvent.objects.exists()
