"""Handshakes are answered as each platform expects and never stored as events:
Zoom's `endpoint.url_validation` (signed), Microsoft Graph's `validationToken`
(no proof at all), Slack's `url_verification`."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from apps.core.models import WebhookEvent
from tests.core import webhook_source
from tests.core.webhook_source import channel_connection, slack_headers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_processed")]


def _zoom_validation(plain_token: str = "qgg8vlvZRS6UYooatFL8Aw") -> bytes:  # noqa: S107
    return json.dumps({"event": "endpoint.url_validation", "event_ts": 1654503849680,
                       "payload": {"plainToken": plain_token}}).encode()


def _post_to_zoom(client, connection, body: bytes, *, signed_with: str = "zoom-secret"):
    """Deliver `body` to the connection's Zoom channel, signed as Zoom signs."""
    return client.post(f"/api/webhooks/zoomhook/{connection.pk}/", data=body,
                       content_type="application/json",
                       headers=slack_headers(signed_with, body, prefix="x-zm"))


def test_it_answers_zooms_url_validation_and_stores_nothing(client):
    connection = channel_connection("zoomhook", webhook_secret="zoom-secret")
    body = _zoom_validation()

    response = _post_to_zoom(client, connection, body)

    assert response.status_code == 200
    expected = hmac.new(b"zoom-secret", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                               "encryptedToken": expected}
    assert not WebhookEvent.objects.exists()


def test_it_answers_no_zoom_validation_it_cannot_verify(client):
    """Answering an unsigned one would sign any plainToken for anyone."""
    connection = channel_connection("zoomhook", webhook_secret="zoom-secret")
    body = _zoom_validation()

    response = _post_to_zoom(client, connection, body, signed_with="not-the-secret")

    assert response.status_code == 401
    assert "encryptedToken" not in response.content.decode()
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REJECTED


@pytest.mark.parametrize("plain_token", ["v0:1700000000:{}", "", "x" * 129])
def test_it_refuses_a_plain_token_that_is_no_random_token(client, plain_token):
    """Whatever the sender, the answer is never an HMAC of chosen content."""
    connection = channel_connection("zoomhook", webhook_secret="zoom-secret")
    body = _zoom_validation(plain_token)

    response = _post_to_zoom(client, connection, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


def test_it_stores_and_processes_a_zoom_event_as_any_other(
        client, django_capture_on_commit_callbacks):
    connection = channel_connection("zoomhook", webhook_secret="zoom-secret")
    body = json.dumps({"event": "meeting.started", "event_id": "z-1",
                       "payload": {"object": {"id": 85}}}).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_to_zoom(client, connection, body)

    assert response.status_code == 202
    assert [event_id for event_id, _ in webhook_source.processed] == ["z-1"]


def test_it_echoes_graphs_validation_token_as_plain_text_and_stores_nothing(client):
    connection = channel_connection("graphhook", webhook_secret="client-state")

    response = client.post(
        f"/api/webhooks/graphhook/{connection.pk}/?validationToken=Validation%3A%20Testing",
        data=b"", content_type="text/plain")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"Validation: Testing"
    assert not WebhookEvent.objects.exists()


def test_it_refuses_an_oversized_graph_validation_token(client):
    connection = channel_connection("graphhook", webhook_secret="client-state")

    response = client.post(
        f"/api/webhooks/graphhook/{connection.pk}/?validationToken={'x' * 2000}",
        data=b"", content_type="text/plain")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_it_accepts_graph_notifications_only_with_the_client_state(client):
    connection = channel_connection("graphhook", webhook_secret="client-state")
    url = f"/api/webhooks/graphhook/{connection.pk}/"

    def notify(state: str):
        body = json.dumps({"value": [{"subscriptionId": "sub-1", "clientState": state,
                                      "changeType": "updated",
                                      "resource": "me/events/AAMk"}]})
        return client.post(url, data=body, content_type="application/json")

    assert notify("client-state").status_code == 202
    forged = notify("guessed")
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "invalid_token"


def test_it_answers_slacks_url_verification_and_stores_nothing(client):
    connection = channel_connection("slackhook", webhook_secret="slack-secret")
    body = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "url_verification",
                       "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
                      ).encode()

    response = client.post(f"/api/webhooks/slackhook/{connection.pk}/", data=body,
                           content_type="application/json",
                           headers=slack_headers("slack-secret", body))

    assert response.status_code == 200
    assert response.content == b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    assert not WebhookEvent.objects.exists()
