"""Google push channels: opened after the first sync, renewed before they
expire, stopped on disconnect; a notification reaches the core inbox (no
body, the token checked) and leads to a sync, over real HTTP between the
Google simulator and a live hub."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Connection, SyncRun, WebhookEvent
from apps.integrations.calendar_sync import calendar_sync_request
from apps.integrations.models import Event
from apps.integrations.push_channels import (
    CHANNEL_KEY,
    channel_address,
    google_notification,
    push_channel_close,
    push_channels_renew,
)
from tests.helpers import wait_for
from tests.integrations import calendar_fixtures

google_calendar = calendar_fixtures.google_calendar

EVENT = {"summary": "Pushed here", "start": {"dateTime": "2030-05-06T10:00:00Z"},
         "end": {"dateTime": "2030-05-06T11:00:00Z"}}


def _channels(api) -> list[dict]:
    return api.control("GET", "/channels").json()["channels"]


@pytest.mark.django_db(transaction=True)
def test_it_syncs_when_google_notifies_a_change(google_api, google_calendar, live_server,
                                                settings):
    settings.HUB_BASE_URL = live_server.url
    calendar_sync_request(integration=google_calendar)
    connection = Connection.objects.get(pk=google_calendar.connection_id)
    stored = connection.settings[CHANNEL_KEY]
    [channel] = _channels(google_api)
    assert (channel["id"], channel["resourceId"], channel["status"]) == (
        stored["id"], stored["resourceId"], "live")
    assert channel["address"] == channel_address(connection)
    # Google's first message opens the channel and changes nothing.
    wait_for(lambda: WebhookEvent.objects.filter(platform="google", event_type="sync",
                                                 status=WebhookEvent.Status.IGNORED).exists(),
             what="the channel's sync message")

    google_api.control("POST", "/calendars/primary/events", json=EVENT)

    event = wait_for(lambda: Event.objects.filter(title="Pushed here").first(),
                     what="the event imported by the notified sync")
    notification = WebhookEvent.objects.get(platform="google", event_type="exists")
    assert notification.event_id == f"{stored['id']}:2"
    assert notification.status == WebhookEvent.Status.PROCESSED
    runs = SyncRun.objects.filter(connection=connection).order_by("pk")
    assert [run.trigger for run in runs] == ["manual", "automatic"]
    assert event.organization_id == google_calendar.organization_id


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_notification_with_a_wrong_token(google_api, google_calendar, live_server):
    url = live_server.url + reverse("webhook-channel", kwargs={
        "platform": "google", "connection_id": google_calendar.connection_id})
    response = requests.post(url, headers={
        "X-Goog-Channel-ID": "c1", "X-Goog-Channel-Token": "forged",
        "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "3"}, timeout=5)
    assert response.status_code == 401
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REJECTED


@pytest.mark.django_db
def test_it_renews_a_channel_before_it_expires_and_stops_the_old_one(
        google_api, google_calendar, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        calendar_sync_request(integration=google_calendar)
    google_calendar.connection.refresh_from_db()
    first = google_calendar.connection.settings[CHANNEL_KEY]

    assert push_channels_renew() == 0  # a week left: nothing to do
    assert push_channels_renew(now=timezone.now() + timedelta(days=6, hours=1)) == 1

    google_calendar.connection.refresh_from_db()
    second = google_calendar.connection.settings[CHANNEL_KEY]
    assert second["id"] != first["id"]
    states = {channel["id"]: channel["status"] for channel in _channels(google_api)}
    assert states == {first["id"]: "stopped", second["id"]: "live"}


@pytest.mark.django_db
def test_it_stops_the_channel_on_disconnect(google_api, google_calendar,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        calendar_sync_request(integration=google_calendar)
    google_calendar.connection.refresh_from_db()

    assert push_channel_close(integration=google_calendar) is True

    assert [channel["status"] for channel in _channels(google_api)] == ["stopped"]
    google_calendar.connection.refresh_from_db()
    assert CHANNEL_KEY not in google_calendar.connection.settings
    assert push_channel_close(integration=google_calendar) is False


@pytest.mark.django_db
def test_the_inbox_keeps_one_event_per_channel_message(client, google_calendar):
    from apps.core.connections import connection_set_credentials

    connection_set_credentials(connection=google_calendar.connection,
                               changes={"webhook_secret": "t0k"})
    url = reverse("webhook-channel", kwargs={"platform": "google",
                                             "connection_id": google_calendar.connection_id})
    headers = {"X-Goog-Channel-ID": "c1", "X-Goog-Channel-Token": "t0k",
               "X-Goog-Resource-ID": "r1", "X-Goog-Resource-State": "sync",
               "X-Goog-Message-Number": "1"}

    # Google's notifications have no body at all.
    first = client.generic("POST", url, b"", headers=headers)
    again = client.generic("POST", url, b"", headers=headers)
    nameless = client.generic("POST", url, b"", headers={**headers, "X-Goog-Message-Number": ""})

    assert (first.status_code, again.status_code, nameless.status_code) == (202, 200, 400)
    stored = WebhookEvent.objects.get(status=WebhookEvent.Status.ACCEPTED)
    assert (stored.event_id, stored.event_type) == ("c1:1", "sync")
    assert stored.body_bytes == 0
    assert '"channelId":"c1"' in stored.body
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.DUPLICATE).count() == 1


@pytest.mark.django_db
def test_a_notification_during_a_sync_asks_for_one_more(google_calendar, monkeypatch,
                                                       django_capture_on_commit_callbacks):
    from apps.integrations import tasks

    later = []
    monkeypatch.setattr(tasks.calendar_sync_later, "apply_async",
                        lambda args, countdown: later.append((args, countdown)))
    with django_capture_on_commit_callbacks(execute=False):
        running = calendar_sync_request(integration=google_calendar)
    event = WebhookEvent.objects.create(
        platform="google", connection=google_calendar.connection, status="processing",
        event_id="c1:2", event_type="exists", body="{}")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = google_notification(event, {"event": "exists"})

    assert outcome is None
    assert SyncRun.objects.get().pk == running.pk
    assert later == [((google_calendar.pk,), 30)]
