"""Zoom end to end over real HTTP: a meeting created at the Zoom simulator for an
event and linked to it; the meeting ended at the simulator, its signed
`meeting.ended` through the hub's inbox, the participants imported (minimum
duration honoured) and `attendanceUpdated` delivered to a partner's endpoint."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import UTC, datetime, time, timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from apps.core import connections
from apps.core.connections import connection_create
from apps.core.http import PlatformClient
from apps.core.models import Connection, Credentials, OutboundOperation, WebhookEvent
from apps.core.operations import operation_run
from apps.core.outgoing import endpoint_create
from apps.core.webhooks import webhooks_process_waiting
from apps.integrations import client as client_module
from apps.integrations import notify_operations  # noqa: F401  (registers the handlers)
from apps.integrations.models import ORGANIZATION_TENANT, Attendance, Integration
from apps.integrations.outgoing_events import ATTENDANCE_UPDATED
from apps.integrations.providers import client_credentials
from apps.integrations.zoom_meetings import IMPORT_KIND, meeting_link, zoom_meeting_enqueue
from tests.core.local_server import WebhookReceiver
from tests.integrations import zoom_fixtures
from tests.integrations.factories import EventFactory, OrganizationFactory, attendee

zoom_simulator = zoom_fixtures.zoom_simulator
pytestmark = pytest.mark.django_db
State = OutboundOperation.State


@pytest.fixture
def receiver():
    server = WebhookReceiver(path="/hooks").start()
    yield server
    server.stop()


def connected(sim, organization, settings: dict) -> Integration:
    answer = zoom_fixtures.zoom_connect(sim)
    client_id, client_secret = client_credentials("zoom")
    connection = connection_create(
        platform="zoom", name="Zoom", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret,
                                access_token=answer["access_token"],
                                refresh_token=answer["refresh_token"]))
    connection.status = Connection.Status.CONNECTED
    connection.token_expires_at = timezone.now() + timedelta(seconds=answer["expires_in"])
    connection.save(update_fields=["status", "token_expires_at"])
    return Integration.objects.create(organization=organization, connection=connection,
                                      provider="zoom", type="video", name="Zoom",
                                      settings=settings)


def test_a_meeting_is_created_linked_and_its_attendance_imported(zoom_simulator, receiver,
                                                                 client, settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    # Zoom's deliveries land at the receiver first, so the test can hand the
    # very bytes and signature the simulator sent to the hub's inbox.
    sim = zoom_simulator(webhook_url=receiver.url)
    organization = OrganizationFactory()
    integration = connected(sim, organization, {
        "autoCreateMeetings": True,
        "meetingDefaults": {"type": "scheduled", "password": True, "waitingRoom": True,
                            "muteUponEntry": True,
                            "recordingSettings": {"autoRecording": "cloud"}},
        "attendanceTracking": {"enabled": True, "minimumDuration": 30}})
    partner = receiver  # the same local server stands for the partner's endpoint
    endpoint_create(url=partner.url, event_types=[ATTENDANCE_UPDATED],
                    tenant_type=ORGANIZATION_TENANT, tenant_id=str(organization.pk),
                    filters={"eventTypes": ["training"], "minAttendanceChange": 0.1})
    event = EventFactory(organization=organization, title="Forklift training",
                         start=timezone.now() + timedelta(hours=1))
    event.end = event.start + timedelta(minutes=90)
    event.save()
    attendee(event, "ada@example.com", name="Ada", status="accepted")
    attendee(event, "carl@example.com", name="Carl", status="accepted")

    [create] = zoom_meeting_enqueue(event=event)
    create = operation_run(create.pk)

    assert create.state == State.SUCCEEDED, create.last_error
    link = meeting_link(event)
    [meeting] = requests.get(f"{sim.base_url}/_sim/meetings", timeout=5).json()["meetings"]
    assert link.external_id == str(meeting["id"])
    assert link.secondary_id == meeting["join_url"]
    assert (meeting["topic"], meeting["duration"]) == ("Forklift training", 90)
    assert meeting["settings"]["waiting_room"] is True
    assert meeting["settings"]["auto_recording"] == "cloud"

    ended = requests.post(f"{sim.base_url}/_sim/meetings/{meeting['id']}/end", json={
        "participants": [
            {"name": "Ada", "user_email": "ada@example.com", "duration": 1500},
            {"name": "Ada", "user_email": "ada@example.com", "duration": 600},
            {"name": "Bob", "user_email": "bob@example.com", "duration": 900},
            {"name": "Guest", "duration": 3600}]}, timeout=5)
    assert ended.status_code == 200, ended.text
    [(headers, body)] = receiver.wait_for_count(1)
    assert json.loads(body)["event"] == "meeting.ended"

    answer = client.post(
        reverse("webhook-channel", kwargs={"platform": "zoom",
                                           "connection_id": integration.connection_id}),
        data=body, content_type="application/json",
        headers={"x-zm-signature": headers["x-zm-signature"],
                 "x-zm-request-timestamp": headers["x-zm-request-timestamp"]})
    assert answer.status_code == 202, answer.content
    webhooks_process_waiting()
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    imported = OutboundOperation.objects.get(kind=IMPORT_KIND)
    imported = operation_run(imported.pk)

    assert imported.state == State.SUCCEEDED, imported.last_error
    assert {row.email: (row.status, row.minutes_present)
            for row in Attendance.objects.filter(event=event)} == {
        "ada@example.com": ("present", 35),
        "bob@example.com": ("absent", 15),
        "carl@example.com": ("absent", 0)}

    delivery = OutboundOperation.objects.get(kind="core.webhook.deliver")
    assert operation_run(delivery.pk).state == State.SUCCEEDED
    partner_events = partner.wait_for_count(2)
    sent = json.loads(partner_events[-1][1])
    assert sent["type"] == ATTENDANCE_UPDATED
    assert sent["data"]["eventId"] == event.pk
    assert sent["data"]["attendanceRate"] == round(1 / 3, 4)
    assert sent["data"]["counts"]["present"] == 1
    assert partner_events[-1][0]["webhook-signature"].startswith("v1,")


def test_a_meeting_ended_that_is_not_ours_is_ignored(zoom_simulator, client, settings):
    sim = zoom_simulator()
    organization = OrganizationFactory()
    integration = connected(sim, organization, {"attendanceTracking": {"enabled": True}})
    body = json.dumps({"event": "meeting.ended", "event_ts": 1, "payload": {
        "object": {"id": "999", "uuid": "x"}}}).encode()
    stamp = str(int(timezone.now().timestamp()))
    signature = "v0=" + hmac.new(settings.ZOOM_WEBHOOK_SECRET.encode(),
                                 f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()

    answer = client.post(
        reverse("webhook-channel", kwargs={"platform": "zoom",
                                           "connection_id": integration.connection_id}),
        data=body, content_type="application/json",
        headers={"x-zm-signature": signature, "x-zm-request-timestamp": stamp})
    webhooks_process_waiting()

    assert answer.status_code == 202
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED
    assert not OutboundOperation.objects.filter(kind=IMPORT_KIND).exists()


def test_a_create_past_zooms_daily_limit_waits_for_midnight(zoom_simulator, monkeypatch):
    # The client's own quick retries are recorded, not slept.
    monkeypatch.setattr(client_module, "client_for", functools.partial(
        connections.client_for, client_class=functools.partial(PlatformClient,
                                                               sleep=lambda seconds: None)))
    sim = zoom_simulator(daily_meeting_limit=0)
    organization = OrganizationFactory()
    connected(sim, organization, {"autoCreateMeetings": True})
    event = EventFactory(organization=organization)

    [create] = zoom_meeting_enqueue(event=event)
    create = operation_run(create.pk)

    midnight = datetime.combine(timezone.now().astimezone(UTC).date() + timedelta(days=1),
                                time(), tzinfo=UTC)
    assert create.state == State.PENDING
    assert create.next_attempt_at == midnight
    assert create.failures == 0
    assert meeting_link(event) is None
