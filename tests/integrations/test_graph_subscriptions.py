"""Graph subscriptions of Microsoft calendar integrations: created (Graph's
validationToken handshake answered by the hub's inbox, live), renewed before
they end or created again when Graph lost them, deleted on disconnect; their
notifications checked by clientState and turned into incremental syncs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.connections import connection_set_credentials
from apps.core.models import Connection, SyncRun, WebhookEvent
from apps.integrations.graph_subscriptions import (
    SUBSCRIPTION_KEY,
    microsoft_notification,
    notification_url,
    subscription_close,
    subscription_ensure,
    subscription_of,
    subscription_open,
    subscriptions_renew,
)
from apps.integrations.models import Event
from tests.helpers import wait_for
from tests.integrations import microsoft_fixtures, test_calendar_microsoft
from tests.integrations.microsoft_fixtures import control, event_body
from tests.integrations.test_calendar_microsoft import connect_microsoft

microsoft_simulator = microsoft_fixtures.microsoft_simulator
notification_endpoint = microsoft_fixtures.notification_endpoint
calendar_engine = test_calendar_microsoft.calendar_engine


def _active(sim) -> list[dict]:
    return control(sim, "GET", "/state").json()["subscriptions"]["active"]


@pytest.mark.django_db(transaction=True)
def test_a_subscription_validated_by_the_live_inbox_brings_changes_here(
        microsoft_simulator, calendar_engine, live_server, settings):
    settings.HUB_BASE_URL = live_server.url
    sim = microsoft_simulator()
    integration = connect_microsoft(microsoft_fixtures.connect(sim))

    stored = subscription_open(integration=integration)

    connection = Connection.objects.get(pk=integration.connection_id)
    [active] = _active(sim)
    assert connection.settings[SUBSCRIPTION_KEY] == stored
    assert (active["id"], active["resource"]) == (stored["id"], "me/events")
    assert active["notificationUrl"] == notification_url(connection) == (
        f"{live_server.url}/api/webhooks/microsoft/{connection.pk}/")
    assert active["clientState"] == connection.credentials().webhook_secret

    control(sim, "POST", "/events", event_body("Told by Graph", start="2027-04-01T09:00:00",
                                               end="2027-04-01T10:00:00"))

    event = wait_for(lambda: Event.objects.filter(title="Told by Graph").first(),
                     what="the event imported by the notified sync")
    assert event.organization_id == integration.organization_id
    notification = WebhookEvent.objects.get(platform="microsoft")
    assert notification.status == WebhookEvent.Status.PROCESSED
    assert SyncRun.objects.filter(connection=connection, trigger="automatic").exists()


@pytest.mark.django_db
def test_it_renews_before_the_end_and_subscribes_again_when_graph_lost_it(
        microsoft_simulator, notification_endpoint, settings):
    sim = microsoft_simulator()
    endpoint = notification_endpoint()
    settings.HUB_BASE_URL = endpoint.base_url
    integration = connect_microsoft(microsoft_fixtures.connect(sim))
    integration.last_sync_at = timezone.now()
    integration.save(update_fields=["last_sync_at"])
    first = subscription_ensure(integration=integration)
    assert subscription_ensure(integration=integration) is None  # one is enough
    assert len(endpoint.validations) == 1

    assert subscriptions_renew() == 0  # days left
    assert subscriptions_renew(now=timezone.now() + timedelta(days=2)) == 1

    integration.connection.refresh_from_db()
    renewed = subscription_of(integration.connection)
    assert renewed["id"] == first["id"]
    assert renewed["expiresAt"] > first["expiresAt"]
    assert len(endpoint.validations) == 1  # a renewal is not validated again

    # Graph forgot it (it lapsed, say): renewing it is a 404, so a new one.
    graph = microsoft_fixtures.Graph(sim, integration.connection.credentials().access_token)
    assert graph.delete(f"/subscriptions/{first['id']}").status_code == 204
    assert subscriptions_renew(now=timezone.now() + timedelta(days=2)) == 1

    integration.connection.refresh_from_db()
    again = subscription_of(integration.connection)
    assert again["id"] != first["id"]
    assert [item["id"] for item in _active(sim)] == [again["id"]]


@pytest.mark.django_db
def test_disconnecting_deletes_the_subscription(microsoft_simulator, notification_endpoint,
                                               settings):
    sim = microsoft_simulator()
    settings.HUB_BASE_URL = notification_endpoint().base_url
    integration = connect_microsoft(microsoft_fixtures.connect(sim))
    subscription_open(integration=integration)

    assert subscription_close(integration=integration) is True
    assert subscription_close(integration=integration) is False

    assert _active(sim) == []
    assert SUBSCRIPTION_KEY not in Connection.objects.get(pk=integration.connection_id).settings


@pytest.mark.django_db
def test_the_inbox_answers_the_handshake_and_checks_the_client_state(client, calendar_engine):
    integration = connect_microsoft({"access_token": "at", "refresh_token": "rt"})
    connection_set_credentials(connection=integration.connection,
                               changes={"webhook_secret": "state-1"})
    url = reverse("webhook-channel", kwargs={"platform": "microsoft",
                                             "connection_id": integration.connection_id})
    notification = {"value": [{"subscriptionId": "s1", "changeType": "created",
                               "clientState": "state-1", "resource": "Users/u/Events/e1"}]}

    handshake = client.post(f"{url}?validationToken=Validation%3A+hello", data=b"",
                            content_type="text/plain")
    forged = client.post(url, data=json.dumps({"value": [{
        **notification["value"][0], "clientState": "guess"}]}), content_type="application/json")
    accepted = client.post(url, data=json.dumps(notification), content_type="application/json")

    assert (handshake.status_code, handshake.content) == (200, b"Validation: hello")
    assert handshake["Content-Type"].startswith("text/plain")
    assert forged.status_code == 401
    assert accepted.status_code == 202
    assert sorted(WebhookEvent.objects.values_list("status", flat=True)) == [
        WebhookEvent.Status.ACCEPTED, WebhookEvent.Status.REJECTED]


@pytest.mark.django_db
def test_a_notification_asks_for_an_incremental_sync(calendar_engine, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    from apps.integrations import tasks

    integration = connect_microsoft({"access_token": "at", "refresh_token": "rt"})
    later = []
    monkeypatch.setattr(tasks.calendar_sync_later, "apply_async",
                        lambda args, countdown: later.append((args, countdown)))
    event = WebhookEvent.objects.create(
        platform="microsoft", connection=integration.connection, status="processing",
        event_id="sha256:x", event_type="", body="{}")

    with django_capture_on_commit_callbacks(execute=False):
        assert microsoft_notification(event, {"value": []}) is None
    running = SyncRun.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        # Another while that run is going: one more sync after it.
        assert microsoft_notification(event, {"value": []}) is None

    assert (running.kind, running.trigger, running.status) == (
        "integrations.calendar_sync", "automatic", SyncRun.Status.RUNNING)
    assert SyncRun.objects.count() == 1
    assert later == [((integration.pk,), 30)]


@pytest.mark.django_db
def test_a_notification_for_a_disconnected_integration_is_ignored(calendar_engine):
    integration = connect_microsoft({"access_token": "at", "refresh_token": "rt"})
    Connection.objects.filter(pk=integration.connection_id).update(
        status=Connection.Status.DISCONNECTED)
    event = WebhookEvent.objects.create(
        platform="microsoft", connection=integration.connection, status="processing",
        event_id="sha256:y", event_type="", body="{}")

    assert microsoft_notification(event, {"value": []}) == WebhookEvent.Status.IGNORED
    assert not SyncRun.objects.exists()
