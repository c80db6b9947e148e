"""A thin webhook authenticated by a token in our URL (as TheFork's): the
token is checked, the event stored, and the resource it names fetched from
the platform when it is processed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine

from apps.core.models import Connection, WebhookEvent
from tests.core import webhook_source
from tests.core.webhook_source import THIN_RESOURCE_URL, channel_connection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status
T0 = datetime(2026, 5, 4, 19, 0, 10, tzinfo=UTC)
RESERVATION = "0b4b3c9e-5e0a-4b8a-9c55-6d2d0f3f1a11"
NOTIFICATION = json.dumps({"entityType": "RESERVATION", "eventType": "RESERVATION_UPDATED",
                           "uuid": RESERVATION, "restaurantUuid": "r-1"}).encode()


@pytest.fixture
def connection() -> Connection:
    return channel_connection("thinhook", "Bistro", webhook_secret="url-token-1")


@pytest.fixture
def notify(client, connection, django_capture_on_commit_callbacks):
    def notify(token: str = "url-token-1", at: datetime = T0):  # noqa: S107
        url = f"/api/webhooks/thinhook/{connection.pk}/?token={token}"
        with time_machine.travel(at, tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=NOTIFICATION, content_type="application/json")

    return notify


@responses.activate
def test_it_fetches_the_resource_a_thin_webhook_names(notify):
    resource = responses.get(THIN_RESOURCE_URL.format(uuid=RESERVATION),
                             json={"uuid": RESERVATION, "partySize": 4, "status": "RECORDED"})

    response = notify()

    assert response.status_code == 200
    assert response.json() == {"data": {}}
    assert resource.call_count == 1
    event = WebhookEvent.objects.get()
    assert (event.status, event.event_type) == (Status.PROCESSED, "RESERVATION_UPDATED")
    [(_, payload)] = webhook_source.processed
    assert payload["reservation"] == {"uuid": RESERVATION, "partySize": 4, "status": "RECORDED"}
    assert payload["notification"]["uuid"] == RESERVATION


@responses.activate
def test_it_refuses_a_wrong_token_and_fetches_nothing(notify):
    response = notify(token="guessed")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    event = WebhookEvent.objects.get()
    assert (event.status, event.signature_valid) == (Status.REJECTED, False)
    assert len(responses.calls) == 0


@responses.activate
def test_it_keeps_the_event_for_a_retry_when_the_fetch_fails(notify):
    responses.get(THIN_RESOURCE_URL.format(uuid=RESERVATION), status=503)

    assert notify().status_code == 200

    event = WebhookEvent.objects.get()
    assert event.status == Status.FAILED
    assert event.next_attempt_at is not None
    assert webhook_source.processed == []


@responses.activate
def test_it_takes_the_same_body_later_as_another_change(notify):
    """No id, no time: a resend within the minute is a duplicate, a later one a change."""
    responses.get(THIN_RESOURCE_URL.format(uuid=RESERVATION), json={"uuid": RESERVATION})

    notify()
    notify(at=T0 + timedelta(seconds=20))
    notify(at=T0 + timedelta(minutes=10))

    statuses = sorted(WebhookEvent.objects.values_list("status", flat=True))
    assert statuses == [Status.DUPLICATE, Status.PROCESSED, Status.PROCESSED]
    assert len(webhook_source.processed) == 2
