"""Outbox handlers of Slack notifications and Zoom meetings (see slack_notify.py
and zoom_meetings.py for what enqueues them and why).

  integrations.slack.post               chat.postMessage, mentions looked up first
  integrations.zoom.meeting_create      POST /users/me/meetings, linked to the event
  integrations.zoom.attendance_import   past meeting participants → attendance,
                                        then attendanceUpdated

What fails how:
- Slack `not_in_channel` / `channel_not_found`: dead, with an attention item
  (PERMISSION_DENIED) saying to invite the app to the channel; the channel's
  later messages wait behind it, in order, until a manager retries it (then
  they all go) or marks it resolved. A message that posts clears the item.
- Slack `ratelimited` (HTTP 429): the client retries a few times within the
  call, honouring Retry-After, then the outbox retries after Retry-After.
- Zoom's daily limit of meeting creates (429, X-RateLimit-Type Daily-limit):
  the create is rescheduled for the time Zoom's Retry-After names (next UTC
  midnight), not retried until it dies.
- A token Slack or Zoom refuses puts the connection in error (client.py), and
  the operation is dead: nothing can be sent until the account is connected
  again.
- A Slack post or a Zoom create whose answer was lost (read timeout, 5xx) is
  sent again: neither API takes an idempotency key or lets us find what the
  lost request did, so a repeated message (or a second meeting) is possible,
  a lost one is not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from apps.core.attention import attention_clear, attention_raise
from apps.core.audit import LogContext
from apps.core.http import PermanentError, TransientError
from apps.core.models import OutboundOperation
from apps.core.operations import Done, Reschedule, RetrySchedule, operation_handler
from apps.core.ratelimit import RateLimit, RateLimiter, RateLimitExceeded
from apps.core.sync import mapping_upsert
from apps.integrations.client import SLACK_TOKEN_ERRORS, api_client, slack_call
from apps.integrations.models import ENTITY_EVENT, Attendance, Event, Integration
from apps.integrations.outgoing_events import (
    attendance_counts,
    attendance_rate,
    emit_attendance_updated,
)
from apps.integrations.services import attendance_record, email_index
from apps.integrations.slack_notify import ATTENDANCE_ALERT, POST_KIND, slack_notify_enqueue
from apps.integrations.zoom_meetings import (
    CREATE_KIND,
    IMPORT_KIND,
    PARTICIPANTS_PAGE_SIZE,
    expected_absent,
    meeting_body,
    meeting_mapping,
    past_meeting_path,
    presences,
    tracking,
)

logger = logging.getLogger(__name__)

DOMAIN = "integrations"
NOT_IN_CHANNEL = "integrations.slack_not_in_channel"
CHANNEL_REFUSALS = frozenset({"not_in_channel", "channel_not_found"})
# Slack's chat.postMessage: about one message a second per channel. The
# margin keeps our window a little wider than Slack's, so network jitter
# cannot land two of our messages in one of its seconds.
CHANNEL_PACE = (RateLimit(limit=1, seconds=1.0, margin_seconds=0.1),)
# A worker waits this long for the channel's slot; longer, the operation is
# rescheduled and the worker is freed.
PACE_MAX_WAIT = 3.0
# Retries of a failed post or Zoom call: soon, then spaced out over about an
# hour; a Retry-After longer than the step is honoured (the outbox keeps the
# longer of the two).
SLACK_RETRY = RetrySchedule(delays=(5, 30, 120, 600, 1800))
ZOOM_RETRY = RetrySchedule(delays=(30, 120, 600, 1800, 3600))
# Slack's errors of users.lookupByEmail that only cost the mention.
MENTION_SKIPPED = frozenset({"users_not_found", "missing_scope", "user_not_found"})


def _integration(operation: OutboundOperation) -> Integration | None:
    integration = (Integration.objects.select_related("connection", "organization")
                   .filter(pk=operation.payload.get("integration_id")).first())
    if integration is None or integration.disconnected_at is not None:
        return None
    return integration


def _touch(integration: Integration) -> None:
    Integration.objects.filter(pk=integration.pk).update(last_activity_at=timezone.now())


def _log(action: str, entity_type: str, entity_id: Any) -> LogContext:
    return LogContext(action=action, entity_type=entity_type, entity_id=str(entity_id))


# -- Slack --------------------------------------------------------------------

def _channel_key(integration: Integration, channel: str) -> str:
    return f"{NOT_IN_CHANNEL}:{integration.pk}:{channel}"


def _mentions(integration: Integration, client, user_ids: list[int]) -> list[str]:
    """`<@U…>` of each user Slack knows by e-mail; the others are left out."""
    users = get_user_model().objects.filter(pk__in=user_ids).order_by("pk")
    mentions = []
    for user in users:
        if not user.email:
            continue
        try:
            body = slack_call(client, integration.connection, "users.lookupByEmail",
                              {"email": user.email}, idempotent=True)
        except PermanentError as exc:
            code = exc.error.code if exc.error else ""
            if code in SLACK_TOKEN_ERRORS or code not in MENTION_SKIPPED:
                raise
            logger.info("Slack mention of user %s skipped: %s", user.pk, code)
            continue
        slack_id = (body.get("user") or {}).get("id")
        if slack_id:
            mentions.append(f"<@{slack_id}>")
    return mentions


@operation_handler(POST_KIND, retry_schedule=SLACK_RETRY)
def slack_post(operation: OutboundOperation, *, reconcile: bool) -> Done | Reschedule:
    integration = _integration(operation)
    if integration is None:
        return Done({"skipped": "integration disconnected"})
    payload = operation.payload
    channel = payload["channel"]
    pace = RateLimiter(f"slack:{integration.connection_id}:channel:{channel}", CHANNEL_PACE)
    try:
        pace.acquire(max_wait=PACE_MAX_WAIT)
    except RateLimitExceeded as exc:
        return Reschedule(at=timezone.now() + timedelta(seconds=exc.wait_seconds),
                          note=f"{channel}: one message a second")
    client = api_client(integration.connection)
    mentions = _mentions(integration, client, payload.get("mention_user_ids") or [])
    text = " ".join([*mentions, payload["text"]])
    try:
        body = slack_call(client, integration.connection, "chat.postMessage", {
            "channel": channel, "text": text,
            # A reminder with a link must not grow a preview bigger than itself.
            "unfurl_links": "false", "unfurl_media": "false"})
    except PermanentError as exc:
        code = exc.error.code if exc.error else ""
        if code in CHANNEL_REFUSALS:
            attention_raise(
                domain=DOMAIN, kind=NOT_IN_CHANNEL, subject=integration,
                key=_channel_key(integration, channel),
                summary=gettext_noop("PERMISSION_DENIED: Slack refused to post in %(channel)s "
                                     "(%(code)s) for %(integration)s."),
                action_hint=gettext_noop("Invite the app to %(channel)s in Slack (/invite "
                                         "@app), or choose another channel in the "
                                         "integration's settings; then \"retry now\" the "
                                         "message in the outbox: the channel's later "
                                         "messages wait behind it."),
                values={"channel": channel, "code": code, "integration": integration.name})
        raise
    attention_clear(key=_channel_key(integration, channel))
    _touch(integration)
    return Done({"channel": body.get("channel"), "ts": body.get("ts"),
                 "mentions": len(mentions)})


# -- Zoom ---------------------------------------------------------------------

def _event(operation: OutboundOperation) -> Event | None:
    event = Event.objects.filter(pk=operation.payload.get("event_id")).first()
    return None if event is None or event.cancelled_at is not None else event


@operation_handler(CREATE_KIND, retry_schedule=ZOOM_RETRY)
def zoom_meeting_create(operation: OutboundOperation, *, reconcile: bool) -> Done | Reschedule:
    integration, event = _integration(operation), _event(operation)
    if integration is None or event is None:
        return Done({"skipped": "integration disconnected or event cancelled"})
    linked = meeting_mapping(event, integration)
    if linked is not None:
        return Done({"meeting_id": linked.external_id, "already_linked": True})
    client = api_client(integration.connection)
    try:
        meeting = client.post("/users/me/meetings", json=meeting_body(event, integration),
                              idempotent=False,
                              log=_log("zoom.meetings.create", ENTITY_EVENT, event.pk)).json()
    except TransientError as exc:
        resume_at = daily_limit_resets_at(exc)
        if resume_at is None:
            raise
        # The user's meetings of the day are spent: retrying sooner would only
        # be refused again (and count as failures until the operation died).
        return Reschedule(at=resume_at, note="Zoom's daily meeting limit")
    # The join URL is the secondary id; the start URL (the host's key) and the
    # passcode are not kept.
    mapping_upsert(entity_type=ENTITY_EVENT, local_id=event.pk,
                   connection=integration.connection, external_id=meeting["id"],
                   secondary_id=str(meeting.get("join_url") or "")[:200],
                   raw={name: meeting.get(name) for name in (
                       "id", "uuid", "host_id", "topic", "type", "start_time", "duration",
                       "timezone", "join_url", "created_at")})
    _touch(integration)
    return Done({"meeting_id": meeting["id"]})


def daily_limit_resets_at(exc: TransientError) -> datetime | None:
    """When Zoom's daily limit of meeting creates lets us try again, if that is
    what refused us: 429 with X-RateLimit-Type "Daily-limit" and a Retry-After
    in ISO 8601 (not the HTTP date or seconds the core reads); next UTC
    midnight when the header is unreadable."""
    response = exc.response
    if exc.status_code != 429 or response is None \
            or response.headers.get("X-RateLimit-Type", "").lower() != "daily-limit":
        return None
    resume_at = parse_datetime(response.headers.get("Retry-After", "").strip())
    if resume_at is None:
        tomorrow = timezone.now().astimezone(UTC).date() + timedelta(days=1)
        return datetime.combine(tomorrow, time(), tzinfo=UTC)
    return resume_at if timezone.is_aware(resume_at) else resume_at.replace(tzinfo=UTC)


def _participants(client, path: str, event: Event) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page_token = ""
    while True:
        params: dict[str, Any] = {"page_size": PARTICIPANTS_PAGE_SIZE}
        if page_token:
            params["next_page_token"] = page_token
        body = client.get(path, params=params,
                          log=_log("zoom.past_meetings.participants", ENTITY_EVENT,
                                   event.pk)).json()
        rows.extend(body.get("participants") or [])
        page_token = body.get("next_page_token") or ""
        if not page_token:
            return rows


def _alert_low_attendance(event: Event, operation: OutboundOperation) -> None:
    """The Slack attendance alert of the seed, once per import, when fewer came
    than INTEGRATIONS_LOW_ATTENDANCE_RATE of those expected."""
    rate = attendance_rate(attendance_counts(event))
    if rate >= django_settings.INTEGRATIONS_LOW_ATTENDANCE_RATE:
        return
    slack_notify_enqueue(organization=event.organization, kind=ATTENDANCE_ALERT, event=event,
                         values={"attendanceRate": round(rate * 100)},
                         key=f"attendance-alert:{operation.pk}")


@operation_handler(IMPORT_KIND, retry_schedule=ZOOM_RETRY)
def zoom_attendance_import_run(operation: OutboundOperation, *, reconcile: bool) -> Done:
    integration, event = _integration(operation), _event(operation)
    if integration is None or event is None:
        return Done({"skipped": "integration disconnected or event cancelled"})
    payload = operation.payload
    client = api_client(integration.connection)
    rows = _participants(client, past_meeting_path(payload.get("instance_uuid")
                                                   or payload["meeting_id"]), event)
    people, anonymous = presences(rows)
    minimum = int(tracking(integration).get("minimumDuration") or 0)
    present = absent = 0
    # One transaction: the attendance and the webhook deliveries announcing it
    # commit together (a partner never hears of a change that rolled back).
    with transaction.atomic():
        before = attendance_counts(event)
        previous = attendance_rate(before) if before["total"] else None
        seen = set()
        for person in people.values():
            minutes = person.seconds // 60
            status = (Attendance.Status.PRESENT if minutes >= minimum
                      else Attendance.Status.ABSENT)
            present += status == Attendance.Status.PRESENT
            absent += status == Attendance.Status.ABSENT
            attendance_record(event=event, email=person.email, name=person.name, status=status,
                              minutes_present=minutes, source=Attendance.Source.ZOOM)
            seen.add(email_index(person.email))
        for row in expected_absent(event, seen):
            absent += 1
            attendance_record(event=event, email=row.email, name=row.name,
                              status=Attendance.Status.ABSENT, minutes_present=0,
                              source=Attendance.Source.ZOOM)
        emit_attendance_updated(event=event, previous_rate=previous,
                                source=Attendance.Source.ZOOM)
        _alert_low_attendance(event, operation)
    _touch(integration)
    return Done({"participants": len(rows), "people": len(people), "present": present,
                 "absent": absent, "without_email": anonymous})
