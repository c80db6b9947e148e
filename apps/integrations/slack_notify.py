"""Slack notifications of an organisation: reminders, attendance alerts, weekly
reports and system notices, posted with chat.postMessage by the outbox.

`slack_notify_enqueue()` writes one outbox operation per connected Slack
integration of the organisation that wants this kind of notification. The
text is rendered here, from the integration's `messageTemplates`, so the
operation shows what will be posted; who is mentioned is kept as user ids
and looked up at Slack (users.lookupByEmail) when the message is sent.

Which settings decide (the seed's Slack settings):
  kind                 notificationTypes     notifications.<flag>  channel         template
  event_reminder       event_reminders       eventReminders        channels.default eventReminder
  attendance_alert     attendance_alerts     attendanceAlerts      channels.alerts  attendanceAlert
  weekly_report        weekly_reports        weeklyReports         channels.reports weeklyReport
  system_notification  system_notifications  -                     channels.alerts  values["text"]
An integration without `notificationTypes` takes every kind (a freshly
connected workspace is not silent); a flag of `notifications` set to false
turns its kind off. A channel not set falls back to channels.default, then
to `defaultChannel`, then to #general.

Templates name their values in braces: {eventName}, {eventType},
{eventStart}, {eventLocation}, {organizerName}, {timeUntil},
{attendanceRate}, and anything the caller passes in `values`. A placeholder
nobody gave stays as written (a typo shows in the channel, it does not
stop the notification). Values are escaped for Slack (&, <, >), so an
event called "<!channel>" cannot ping a whole channel; the template itself
is the organisation's own text and may use Slack's syntax.

Pace: Slack posts about one message a second per channel ("special tier").
Every message of one channel is an operation of the same outbox entity
(the connection and the channel), so they run one at a time and in order;
the handler takes a per-channel slot of a core RateLimiter (one a second,
in the shared store, so two workers agree) before posting; a 429
`ratelimited` is retried by the outbox after Slack's Retry-After.

Reminders: the beat task `integrations.slack_reminders_due` (tasks.py, every minute)
enqueues an `event_reminder` `reminderMinutes` before each coming event,
once per event, offset and start time (the idempotency key), so a moved
event is reminded of again at its new time and a repeated beat sends
nothing twice.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.timesince import timeuntil
from django.utils.translation import gettext

from apps.core.models import Connection, OutboundOperation
from apps.core.operations import operation_enqueue
from apps.integrations.models import Event, Integration, Organization
from apps.integrations.providers import SLACK

EVENT_REMINDER = "event_reminder"
ATTENDANCE_ALERT = "attendance_alert"
WEEKLY_REPORT = "weekly_report"
SYSTEM_NOTIFICATION = "system_notification"
KINDS = (EVENT_REMINDER, ATTENDANCE_ALERT, WEEKLY_REPORT, SYSTEM_NOTIFICATION)

# The outbox kind that posts, and the entity its operations are ordered by.
POST_KIND = "integrations.slack.post"
CHANNEL_ENTITY = "integrations.slack_channel"
MANAGER_GROUP = "Manager"

# kind → (notificationTypes value, notifications flag, channels key, template key)
ROUTING: dict[str, tuple[str, str, str, str]] = {
    EVENT_REMINDER: ("event_reminders", "eventReminders", "default", "eventReminder"),
    ATTENDANCE_ALERT: ("attendance_alerts", "attendanceAlerts", "alerts", "attendanceAlert"),
    WEEKLY_REPORT: ("weekly_reports", "weeklyReports", "reports", "weeklyReport"),
    SYSTEM_NOTIFICATION: ("system_notifications", "", "alerts", ""),
}
FALLBACK_CHANNEL = "#general"

# The seed's example (Google's notifications.reminderMinutes): a quarter of an
# hour and an hour before. The Slack settings have no list of their own.
DEFAULT_REMINDER_MINUTES = (15, 60)
# A beat missed by up to this long still sends its reminders; a reminder due
# longer ago than this is dropped (an event created at the last minute gets
# no "in an hour" message).
REMINDER_GRACE = timedelta(minutes=10)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def default_template(kind: str) -> str:
    """The text of a kind whose template the organisation did not set (translated)."""
    defaults = {
        EVENT_REMINDER: gettext("📅 Reminder: {eventName} starts in {timeUntil}"),
        ATTENDANCE_ALERT: gettext("⚠️ Low attendance for {eventName}: {attendanceRate}%"),
        WEEKLY_REPORT: gettext("📊 Weekly attendance report"),
    }
    return defaults.get(kind, "")


def slack_escape(text: str) -> str:
    # docs.slack.dev "Formatting text": only &, < and > are control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(template: str, values: Mapping[str, Any]) -> str:
    """The template with its known placeholders filled; unknown ones kept as written."""
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values or values[name] is None:
            return match.group(0)
        return slack_escape(str(values[name]))

    return _PLACEHOLDER.sub(fill, template)


def event_values(event: Event) -> dict[str, Any]:
    """The placeholders an event fills."""
    organizer = event.organizer
    local_start = timezone.localtime(event.start, _zone(event.time_zone))
    return {
        "eventName": event.title,
        "eventType": event.get_type_display(),
        "eventStart": local_start.strftime("%Y-%m-%d %H:%M"),
        "eventLocation": event.location,
        "organizerName": (organizer.get_full_name() or organizer.get_username())
        if organizer is not None else None,
    }


def _zone(name: str) -> zoneinfo.ZoneInfo | tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def connected_integrations(organization: Organization, provider: str):
    """The organisation's integrations of `provider` whose connection works now."""
    return (Integration.objects.select_related("connection", "organization")
            .filter(organization=organization, provider=provider, disconnected_at__isnull=True,
                    connection__status=Connection.Status.CONNECTED)
            .order_by("pk"))


def wants(integration: Integration, kind: str) -> bool:
    settings = integration.settings or {}
    notification_type, flag, _channel, _template = ROUTING[kind]
    types = settings.get("notificationTypes")
    if isinstance(types, list) and notification_type not in types:
        return False
    flags = settings.get("notifications") or {}
    return not (flag and flags.get(flag) is False)


def channel_for(integration: Integration, kind: str) -> str:
    settings = integration.settings or {}
    channels = settings.get("channels") or {}
    key = ROUTING[kind][2]
    return (channels.get(key) or channels.get("default") or settings.get("defaultChannel")
            or FALLBACK_CHANNEL)


def managers_of(organization: Organization) -> Iterable[Any]:
    """The active Managers acting for the organisation (members of the default
    organisation are the users with no membership)."""
    users = get_user_model().objects.filter(is_active=True, groups__name=MANAGER_GROUP)
    if organization.is_default:
        users = users.filter(Q(organization_membership__isnull=True)
                             | Q(organization_membership__organization=organization))
    else:
        users = users.filter(organization_membership__organization=organization)
    return users.order_by("pk").distinct()


def mention_user_ids(integration: Integration, organization: Organization,
                     event: Event | None) -> list[int]:
    """Who userMentions asks to mention: hub user ids, looked up at Slack when posting."""
    mentions = (integration.settings or {}).get("userMentions") or {}
    if not mentions.get("enabled"):
        return []
    ids: list[int] = []
    if mentions.get("mentionOrganizers") and event is not None and event.organizer_id:
        ids.append(event.organizer_id)
    if mentions.get("mentionManagers"):
        ids.extend(user.pk for user in managers_of(organization) if user.pk not in ids)
    return ids


def slack_notify_enqueue(*, organization: Organization, kind: str, event: Event | None = None,
                         values: Mapping[str, Any] | None = None,
                         key: str = "") -> list[OutboundOperation]:
    """One outbox operation per connected Slack integration that wants `kind`.

    `key` makes the notification once-only (the same key again enqueues
    nothing); without one every call notifies. Call it inside the
    transaction of the change: the messages go only if it commits.
    """
    if kind not in ROUTING:
        raise ValueError(f"unknown Slack notification kind {kind!r}; one of {KINDS}")
    values = dict(values or {})
    if kind == SYSTEM_NOTIFICATION and not values.get("text"):
        raise ValueError("a system notification needs its text in values['text']")
    key = key or uuid.uuid4().hex
    return [_enqueue_one(integration, kind=kind, event=event, values=values, key=key)
            for integration in connected_integrations(organization, SLACK)
            if wants(integration, kind)]


def _enqueue_one(integration: Integration, *, kind: str, event: Event | None,
                 values: Mapping[str, Any], key: str) -> OutboundOperation:
    # The organisation's texts are rendered in the deployment's language.
    with translation.override(django_settings.LANGUAGE_CODE):
        filled = {**(event_values(event) if event is not None else {}), **values}
        if kind == SYSTEM_NOTIFICATION:
            text = slack_escape(str(values["text"]))
        else:
            templates = (integration.settings or {}).get("messageTemplates") or {}
            text = render(templates.get(ROUTING[kind][3]) or default_template(kind), filled)
    if values.get("details"):
        text = f"{text}\n{slack_escape(str(values['details']))}"
    channel = channel_for(integration, kind)
    operation, _created = operation_enqueue(
        platform=SLACK, kind=POST_KIND, connection=integration.connection,
        idempotency_key=f"slack:{kind}:{integration.pk}:{key}",
        payload={"integration_id": integration.pk, "kind": kind, "channel": channel,
                 "text": text, "event_id": event.pk if event is not None else None,
                 "mention_user_ids": mention_user_ids(integration, integration.organization,
                                                      event)},
        entity_type=CHANNEL_ENTITY, entity_id=f"{integration.connection_id}:{channel}")
    return operation


# -- reminders ----------------------------------------------------------------

def reminder_minutes(integration: Integration) -> tuple[int, ...]:
    """The offsets of an integration's reminders, in minutes before the start."""
    notifications = (integration.settings or {}).get("notifications") or {}
    minutes = notifications.get("reminderMinutes")
    if isinstance(minutes, list) and all(isinstance(m, int) and m >= 0 for m in minutes):
        return tuple(minutes)
    return DEFAULT_REMINDER_MINUTES


def reminders_due(*, now: datetime | None = None) -> list[OutboundOperation]:
    """Enqueue every reminder due now (at most REMINDER_GRACE late); idempotent."""
    now = now or timezone.now()
    integrations = (Integration.objects.select_related("connection", "organization")
                    .filter(provider=SLACK, disconnected_at__isnull=True,
                            connection__status=Connection.Status.CONNECTED).order_by("pk"))
    operations = []
    for integration in integrations:
        if not wants(integration, EVENT_REMINDER):
            continue
        for minutes in reminder_minutes(integration):
            offset = timedelta(minutes=minutes)
            # Due when now has reached start - offset, and not more than the grace ago.
            events = (Event.objects.select_related("organizer")
                      .filter(organization=integration.organization, cancelled_at__isnull=True,
                              start__gt=now + offset - REMINDER_GRACE, start__lte=now + offset)
                      .order_by("start", "pk"))
            for event in events:
                with translation.override(django_settings.LANGUAGE_CODE):
                    time_until = timeuntil(now + offset, now)
                operations.append(_enqueue_one(
                    integration, kind=EVENT_REMINDER, event=event,
                    values={"timeUntil": time_until},
                    key=f"reminder:{event.pk}:{minutes}:{int(event.start.timestamp())}"))
    return operations
