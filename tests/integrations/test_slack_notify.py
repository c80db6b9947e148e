"""Slack notifications: which integrations get which kind, in which channel,
with which text; reminders once per event and offset; how the post handler
meets Slack's refusals (HTTP mocked with `responses`)."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from apps.core import connections
from apps.core.connections import client_cache_clear, connection_create
from apps.core.http import PlatformClient
from apps.core.models import AttentionItem, Connection, Credentials, OutboundOperation
from apps.core.operations import operation_run
from apps.integrations import client, notify_operations
from apps.integrations.models import ORGANIZATION_TENANT, Integration, Organization
from apps.integrations.notify_operations import NOT_IN_CHANNEL
from apps.integrations.providers import client_credentials
from apps.integrations.slack_notify import (
    ATTENDANCE_ALERT,
    EVENT_REMINDER,
    POST_KIND,
    SYSTEM_NOTIFICATION,
    WEEKLY_REPORT,
    reminders_due,
    render,
    slack_notify_enqueue,
)
from tests.integrations.factories import EventFactory, OrganizationFactory, member

pytestmark = pytest.mark.django_db

API = "https://slack.test/api"
State = OutboundOperation.State


@pytest.fixture
def slack_api(settings):
    settings.SLACK_API_URL = API
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked
    client_cache_clear()


def slack_integration(organization: Organization, settings: dict | None = None, *,
                      status: str = Connection.Status.CONNECTED) -> Integration:
    client_id, client_secret = client_credentials("slack")
    connection = connection_create(
        platform="slack", name=f"Slack ({organization.slug})", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret,
                                access_token="xoxb-test"))
    connection.status = status
    connection.token_expires_at = timezone.now() + timedelta(hours=12)
    connection.save(update_fields=["status", "token_expires_at"])
    return Integration.objects.create(organization=organization, connection=connection,
                                      provider="slack", type="communication", name="Slack",
                                      settings=settings or {})


def test_it_fills_known_placeholders_and_leaves_unknown_ones_visible():
    text = render("{eventName} in {timeUntil} ({room}) {attendanceRate}%",
                  {"eventName": "Safety <b> & co", "timeUntil": "15 minutes",
                   "attendanceRate": 42})

    # Values are escaped for Slack; an unknown placeholder stays as written.
    assert text == "Safety &lt;b&gt; &amp; co in 15 minutes ({room}) 42%"


def test_it_enqueues_one_post_per_slack_integration_that_wants_the_kind():
    organization = OrganizationFactory()
    wanting = slack_integration(organization, {
        "notificationTypes": ["attendance_alerts"],
        "channels": {"default": "#general", "alerts": "#attendance-alerts"},
        "messageTemplates": {"attendanceAlert": "⚠️ {eventName}: {attendanceRate}%"}})
    slack_integration(organization, {"notificationTypes": ["event_reminders"]})
    slack_integration(organization, {"notificationTypes": ["attendance_alerts"]},
                      status=Connection.Status.ERROR)
    slack_integration(OrganizationFactory(), {})  # another organisation's
    event = EventFactory(organization=organization, title="Fire drill")

    [operation] = slack_notify_enqueue(organization=organization, kind=ATTENDANCE_ALERT,
                                       event=event, values={"attendanceRate": 38})

    assert operation.connection_id == wanting.connection_id
    assert operation.payload["channel"] == "#attendance-alerts"
    assert operation.payload["text"] == "⚠️ Fire drill: 38%"
    # Messages of one channel are one outbox entity: they run in order.
    assert operation.entity_id == f"{wanting.connection_id}:#attendance-alerts"


def test_it_routes_each_kind_to_its_channel_and_falls_back_to_the_default():
    organization = OrganizationFactory()
    slack_integration(organization, {"channels": {"default": "#general", "reports": "#reports"}})

    report = slack_notify_enqueue(organization=organization, kind=WEEKLY_REPORT,
                                  values={"details": "12 events, 84% present"})[0]
    notice = slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                  values={"text": "Google Calendar disconnected"})[0]

    assert (report.payload["channel"], report.payload["text"]) == (
        "#reports", "📊 Weekly attendance report\n12 events, 84% present")
    assert (notice.payload["channel"], notice.payload["text"]) == (
        "#general", "Google Calendar disconnected")


def test_a_notifications_flag_set_to_false_turns_its_kind_off():
    organization = OrganizationFactory()
    slack_integration(organization, {"notifications": {"eventReminders": False}})

    assert slack_notify_enqueue(organization=organization, kind=EVENT_REMINDER,
                                event=EventFactory(organization=organization)) == []


def test_the_same_key_notifies_once():
    organization = OrganizationFactory()
    slack_integration(organization)

    first = slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                 values={"text": "hello"}, key="k1")
    again = slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                 values={"text": "hello"}, key="k1")

    assert [op.pk for op in first] == [op.pk for op in again]
    assert OutboundOperation.objects.count() == 1


def test_a_system_notification_needs_its_text():
    organization = OrganizationFactory()
    slack_integration(organization)

    with pytest.raises(ValueError, match="text"):
        slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION, values={})


def test_reminders_go_once_per_event_and_offset_within_the_grace():
    organization = OrganizationFactory()
    slack_integration(organization, {"notificationTypes": ["event_reminders"]})
    now = timezone.now()
    soon = EventFactory(organization=organization, start=now + timedelta(minutes=14))
    in_an_hour = EventFactory(organization=organization, start=now + timedelta(minutes=59))
    # Reminded 15 minutes ahead: 45 minutes from now is due for neither offset.
    EventFactory(organization=organization, start=now + timedelta(minutes=45))
    # Created at the last minute: its "in an hour" reminder would be 55 minutes late.
    EventFactory(organization=organization, start=now + timedelta(minutes=5))
    cancelled = EventFactory(organization=organization, start=now + timedelta(minutes=14))
    cancelled.cancelled_at = now
    cancelled.save()

    operations = reminders_due(now=now)
    again = reminders_due(now=now + timedelta(seconds=60))

    assert sorted(op.payload["event_id"] for op in operations) == sorted(
        [soon.pk, in_an_hour.pk])
    assert {op.payload["text"] for op in operations} == {
        f"📅 Reminder: {soon.title} starts in 15\xa0minutes",
        f"📅 Reminder: {in_an_hour.title} starts in 1\xa0hour"}
    assert {op.pk for op in again} == {op.pk for op in operations}
    assert OutboundOperation.objects.count() == 2


def test_a_moved_event_is_reminded_of_again_at_its_new_time():
    organization = OrganizationFactory()
    slack_integration(organization, {"notifications": {"reminderMinutes": [15]}})
    now = timezone.now()
    event = EventFactory(organization=organization, start=now + timedelta(minutes=14))
    [first] = reminders_due(now=now)
    event.start = now + timedelta(minutes=20)
    event.end = event.start + timedelta(hours=1)
    event.save()

    [moved] = reminders_due(now=now + timedelta(minutes=6))

    assert moved.pk != first.pk


def test_it_mentions_the_organiser_slack_knows_and_skips_the_others(slack_api):
    organization = OrganizationFactory()
    organizer = member(organization=organization, email="olivier@example.com")
    member(organization=organization, email="unknown@example.com")
    slack_integration(organization, {"userMentions": {
        "enabled": True, "mentionOrganizers": True, "mentionManagers": True}})
    event = EventFactory(organization=organization, organizer=organizer, title="Kick-off")
    slack_api.post(f"{API}/users.lookupByEmail", json={"ok": True, "user": {"id": "U0ORG"}},
                   match=[responses.matchers.urlencoded_params_matcher(
                       {"email": "olivier@example.com"})])
    slack_api.post(f"{API}/users.lookupByEmail", json={"ok": False, "error": "users_not_found"},
                   match=[responses.matchers.urlencoded_params_matcher(
                       {"email": "unknown@example.com"})])
    posted = slack_api.post(f"{API}/chat.postMessage",
                            json={"ok": True, "channel": "C1", "ts": "1.0"})
    [operation] = slack_notify_enqueue(organization=organization, kind=EVENT_REMINDER,
                                       event=event, values={"timeUntil": "1 hour"})

    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED
    assert "text=%3C%40U0ORG%3E+%F0%9F%93%85+Reminder%3A+Kick-off" in posted.calls[0].request.body


def test_not_in_channel_is_dead_with_an_item_saying_to_invite_the_app(slack_api):
    organization = OrganizationFactory()
    integration = slack_integration(organization, {"channels": {"default": "#random"}})
    slack_api.post(f"{API}/chat.postMessage", json={"ok": False, "error": "not_in_channel"})
    [operation] = slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                       values={"text": "hello"})

    operation = operation_run(operation.pk)

    assert operation.state == State.DEAD
    item = AttentionItem.objects.get(kind=NOT_IN_CHANNEL)
    assert item.object_id == str(integration.pk)
    assert item.summary.startswith("PERMISSION_DENIED: Slack refused to post in #random "
                                   "(not_in_channel)")
    assert "Invite the app to #random" in item.action_hint


def sleeps_recorded(monkeypatch) -> list[float]:
    """The Slack client records its back-off sleeps instead of sleeping them."""
    recorded: list[float] = []
    monkeypatch.setattr(client, "client_for", functools.partial(
        connections.client_for,
        client_class=functools.partial(PlatformClient, sleep=recorded.append)))
    client_cache_clear()
    return recorded


def test_ratelimited_is_retried_after_slacks_retry_after(slack_api, monkeypatch):
    sleeps = sleeps_recorded(monkeypatch)
    organization = OrganizationFactory()
    slack_integration(organization)
    slack_api.post(f"{API}/chat.postMessage", status=429, headers={"Retry-After": "30"},
                   json={"ok": False, "error": "ratelimited"})
    [operation] = slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                       values={"text": "hello"})
    before = timezone.now()

    operation = operation_run(operation.pk)

    # The client waited Slack's 30 s between its own tries, then the outbox
    # took over, no sooner than Retry-After.
    assert sleeps and all(sleep >= 30 for sleep in sleeps)
    assert operation.state == State.FAILED
    assert operation.next_attempt_at >= before + timedelta(seconds=30)


def test_a_message_whose_channel_slot_is_far_off_is_rescheduled_not_waited_for(
        slack_api, monkeypatch):
    # The worker waits for the channel's slot only so long; here not at all.
    monkeypatch.setattr(notify_operations, "PACE_MAX_WAIT", 0.0)
    organization = OrganizationFactory()
    slack_integration(organization)
    posted = slack_api.post(f"{API}/chat.postMessage",
                            json={"ok": True, "channel": "C1", "ts": "1.0"})
    first, second = (slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                          values={"text": text})[0] for text in ("a", "b"))

    assert operation_run(first.pk).state == State.SUCCEEDED
    second = operation_run(second.pk)

    assert second.state == State.PENDING
    assert timezone.now() < second.next_attempt_at <= timezone.now() + timedelta(seconds=1.2)
    assert posted.call_count == 1


@pytest.mark.parametrize(("present", "alerts"), [(1, 1), (3, 0)])
def test_an_imported_attendance_below_the_threshold_alerts_slack(settings, present, alerts):
    from tests.integrations.factories import attendee

    settings.INTEGRATIONS_LOW_ATTENDANCE_RATE = 0.5
    organization = OrganizationFactory()
    slack_integration(organization, {"notificationTypes": ["attendance_alerts"],
                                     "channels": {"default": "#general",
                                                  "alerts": "#attendance-alerts"}})
    event = EventFactory(organization=organization, title="Forklift training")
    for n in range(4):
        attendee(event, f"p{n}@example.test", status="present" if n < present else "absent")
    # The import's operation: the alert is once per import, keyed by it.
    import_operation = OutboundOperation.objects.create(
        kind="integrations.zoom.attendance_import", platform="zoom",
        idempotency_key=f"import-{present}", payload={})

    notify_operations._alert_low_attendance(event, import_operation)
    notify_operations._alert_low_attendance(event, import_operation)

    posts = OutboundOperation.objects.filter(kind=POST_KIND)
    assert posts.count() == alerts
    if alerts:
        assert posts.get().payload["text"].endswith("Forklift training: 25%")
