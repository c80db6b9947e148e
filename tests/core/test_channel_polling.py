"""Changes found by polling enter through the inbox: de-duplicated against the
webhook of the same change (whichever comes first), processed by the same
processor, and never fetched again."""

from __future__ import annotations

import json

import pytest
import responses

from apps.core.models import Connection, WebhookEvent
from apps.core.webhooks import ORIGIN_HEADER, inbox_record_polled
from tests.core import webhook_source
from tests.core.webhook_source import channel_connection, slack_headers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status
SLACK_SECRET = "slack-secret"


def _slack_connection() -> Connection:
    """A connection whose Slack channel checks the signature `webhook` makes."""
    return channel_connection("slackhook", webhook_secret=SLACK_SECRET)


@pytest.fixture
def webhook(client, django_capture_on_commit_callbacks):
    def webhook(connection: Connection, event_id: str):
        body = json.dumps({"type": "event_callback", "event_id": event_id}).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/api/webhooks/slackhook/{connection.pk}/", data=body,
                               content_type="application/json",
                               headers=slack_headers(SLACK_SECRET, body))

    return webhook


@pytest.fixture
def poll(django_capture_on_commit_callbacks):
    def poll(connection: Connection, event_id: str, payload: dict, platform: str = "slackhook"):
        with django_capture_on_commit_callbacks(execute=True):
            return inbox_record_polled(platform=platform, connection=connection,
                                       event_id=event_id, event_type="event_callback",
                                       payload=payload)

    return poll


def test_it_processes_a_polled_change_like_a_webhook(poll):
    connection = _slack_connection()

    event = poll(connection, "Ev7", {"event_id": "Ev7", "text": "hello"})

    event.refresh_from_db()
    assert (event.status, event.connection, event.event_id) == (
        Status.PROCESSED, connection, "Ev7")
    assert event.headers == {ORIGIN_HEADER: "poll"}
    assert webhook_source.processed == [("Ev7", {"event_id": "Ev7", "text": "hello"})]


def test_it_ignores_a_polled_change_its_webhook_already_brought(webhook, poll):
    connection = _slack_connection()
    assert webhook(connection, "Ev7").status_code == 202

    assert poll(connection, "Ev7", {"event_id": "Ev7"}) is None

    assert WebhookEvent.objects.count() == 1
    assert len(webhook_source.processed) == 1


def test_it_stores_as_a_duplicate_the_webhook_of_a_change_already_polled(webhook, poll):
    connection = _slack_connection()
    poll(connection, "Ev7", {"event_id": "Ev7"})

    response = webhook(connection, "Ev7")

    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    assert len(webhook_source.processed) == 1


def test_it_stores_nothing_when_a_poll_sees_the_same_change_again(poll):
    connection = _slack_connection()
    poll(connection, "Ev7", {"event_id": "Ev7", "version": 3})

    # Another id, the same content: the same change seen by a later poll.
    assert poll(connection, "poll-2", {"version": 3, "event_id": "Ev7"}) is None
    assert WebhookEvent.objects.count() == 1


def test_it_keeps_polled_changes_of_two_connections_apart(poll):
    first, second = _slack_connection(), _slack_connection()

    assert poll(first, "Ev7", {"event_id": "Ev7"}) is not None
    assert poll(second, "Ev7", {"event_id": "Ev7"}) is not None


@responses.activate
def test_it_never_fetches_what_a_poll_already_read(poll):
    """A thin channel fetches for its webhooks; a polled change is the resource."""
    connection = channel_connection("thinhook", webhook_secret="url-token")

    event = poll(connection, "res-1:v2", {"uuid": "res-1", "partySize": 2},
                 platform="thinhook")

    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert len(responses.calls) == 0
    assert webhook_source.processed == [("res-1:v2", {"uuid": "res-1", "partySize": 2})]


def test_a_delivery_cannot_pass_itself_off_as_polled(client):
    """The mark is a key no HTTP header can have."""
    connection = channel_connection("thinhook", webhook_secret="url-token")

    client.post(f"/api/webhooks/thinhook/{connection.pk}/?token=url-token",
                data=b'{"uuid": "res-1"}', content_type="application/json",
                headers={"hub-origin": "poll", "X-Hub-Origin": "poll"})

    assert ORIGIN_HEADER not in WebhookEvent.objects.get().headers
