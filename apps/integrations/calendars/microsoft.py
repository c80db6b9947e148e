"""The Microsoft 365 calendar adapter: Microsoft Graph v1.0 events on the connection's client.

Calls (learn.microsoft.com/graph/api/resources/event, event-delta, delta-query-events):
  GET    /me/calendarView/delta?startDateTime&endDateTime   (/me/calendars/{id}/… for
         another calendar) pages through @odata.nextLink to a last page with
         @odata.deltaLink, which is the cursor; the next round from it gives what
         changed, deleted events as {"id", "@removed"}; a forgotten or reset
         round is 410 syncStateNotFound / resyncRequired
  POST   /me/events (/me/calendars/{id}/events)  with a `transactionId` derived
         from the connection and our event: Graph answers a repeated one with
         the event the first made, so a retried create is one event
  PATCH  /me/events/{id}
  DELETE /me/events/{id}                          404: already gone

The delta window is fixed when a round starts (Graph keeps it in the delta
link): WINDOW_PAST before the first sync to WINDOW_AHEAD after it. It is
wide because a full list is taken as complete (calendar_sync cancels here a
linked event it does not show), so it must hold every event we link;
`listed_window` says which events a full list speaks for. The
cursor keeps the window's end; once less than REWINDOW_BEFORE is left, the
next sync is a full one with a window from that day.

Graph has no private property of ours on the event that a delta returns
without asking, so our event is recognised by its `transactionId` (returned
because we set it): "hub-<connection digest>-<event id>".

Settings: the calendar keys (`calendarId`, `eventPrefix`, `includeDescription`),
`teamsIntegration` (autoCreateMeetings: a Teams meeting on each event we
create, its join URL kept as a link of the event) and `outlookSettings`
(categoryColor as Outlook's preset category of that colour, importance,
showAs). Graph's 429 with Retry-After is retried by the core client.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from apps.core.audit import LogContext
from apps.core.http import PermanentError
from apps.core.models import ExternalMapping
from apps.core.sync import mapping_upsert
from apps.integrations.calendars import (
    ChangesPage,
    FullSyncRequired,
    RemoteAttendee,
    RemoteEvent,
    WatchedChannel,
)
from apps.integrations.client import api_client
from apps.integrations.models import ENTITY_EVENT, Attendance, Event, Integration

# Graph's default page is 10 events; larger pages keep a sync to fewer calls.
PAGE_SIZE = 100
# The delta window around the day a round starts (see the module's docstring).
WINDOW_PAST = timedelta(days=2 * 365)
WINDOW_AHEAD = timedelta(days=3 * 365)
REWINDOW_BEFORE = timedelta(days=365)
# Our events hold plain text: Graph turns a text body into HTML unless asked
# (RFC 7240 preferences, comma-separated; one Graph ignores changes nothing).
PREFER_TEXT = 'outlook.body-content-type="text"'
# Graph's codes for a delta round it no longer knows.
RESYNC_CODES = frozenset({"syncStateNotFound", "resyncRequired"})
TEAMS = "teamsForBusiness"
# Where a Teams meeting's join URL is kept: a link of our event, per connection.
ENTITY_TEAMS_MEETING = "integrations.teams_meeting"
# Graph's attendee responses -> our attendance status, and back.
RESPONSES = {"none": Attendance.Status.INVITED, "notResponded": Attendance.Status.INVITED,
             "organizer": Attendance.Status.ACCEPTED, "accepted": Attendance.Status.ACCEPTED,
             "tentativelyAccepted": Attendance.Status.TENTATIVE,
             "declined": Attendance.Status.DECLINED}
OUR_RESPONSES = {Attendance.Status.ACCEPTED: "accepted",
                 Attendance.Status.TENTATIVE: "tentativelyAccepted",
                 Attendance.Status.DECLINED: "declined",
                 # Present is after the event; the invitation was accepted.
                 Attendance.Status.PRESENT: "accepted"}
_TRANSACTION = re.compile(r"hub-([0-9a-f]{16})-(\d+)(?:-r[0-9a-f]{8})?")


def _digest(integration: Integration, event_id: int | str) -> str:
    return hashlib.sha256(f"hub:{integration.connection_id}:{event_id}".encode()).hexdigest()[:16]


def transaction_id(integration: Integration, event: Event, *, replacing: str = "") -> str:
    """The `transactionId` of our event's create at this connection's mailbox.

    The same at every retry (never the event's version: a retry running after
    a change must still find the first create); another connection gets
    another one, so a reconnected account starts clean. `replacing`: the
    Graph id of a copy deleted there, for the create that replaces it (a
    retry of that create is still one event).
    """
    value = f"hub-{_digest(integration, event.pk)}-{event.pk}"
    if replacing:
        value += "-r" + hashlib.sha256(replacing.encode()).hexdigest()[:8]
    return value


def _local_id(integration: Integration, item: dict[str, Any]) -> str:
    """Our event's id when the Graph event is one this connection created."""
    match = _TRANSACTION.fullmatch(str(item.get("transactionId") or ""))
    if match and match.group(1) == _digest(integration, match.group(2)):
        return match.group(2)
    return ""


def _zone_name(name: str) -> str:
    """An IANA zone name, or "" (Graph may answer Windows names such as
    "W. Europe Standard Time", which our events cannot hold)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    return name


def _instant(value: Any) -> datetime | None:
    """Graph's dateTimeTimeZone ({dateTime without offset, timeZone}) as UTC."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    # Graph writes seven fractional digits; Python reads six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", str(value["dateTime"]))
    moment = parse_datetime(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        zone = _zone_name(str(value.get("timeZone") or "UTC")) or "UTC"
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


def remote_event(integration: Integration, item: dict[str, Any]) -> RemoteEvent:
    """Graph's event resource (or a delta's removed entry) in our words."""
    external_id = str(item.get("id") or "")
    if "@removed" in item or item.get("isCancelled") is True:
        return RemoteEvent(external_id=external_id, cancelled=True, raw=item)
    attendees = tuple(
        RemoteAttendee(email=str(attendee["emailAddress"]["address"]),
                       name=str(attendee["emailAddress"].get("name") or ""),
                       status=RESPONSES.get((attendee.get("status") or {}).get("response"),
                                            Attendance.Status.INVITED))
        for attendee in item.get("attendees") or []
        if isinstance(attendee, dict) and isinstance(attendee.get("emailAddress"), dict)
        and attendee["emailAddress"].get("address") and attendee.get("type") != "resource")
    body = item.get("body") or {}
    description = str(body.get("content") or "")
    if body.get("contentType") == "html":
        # Our events hold plain text; Outlook's own events are HTML.
        description = str(item.get("bodyPreview") or "")
    local_id = _local_id(integration, item)
    title = str(item.get("subject") or "")
    prefix = str((integration.settings or {}).get("eventPrefix") or "")
    if prefix and title.startswith(prefix):
        # Ours to add on the way out (the engine strips only Google's
        # eventMapping.titlePrefix), so a pulled change does not keep it.
        title = title[len(prefix):]
    return RemoteEvent(
        external_id=external_id, cancelled=False, title=title,
        description=description,
        location=str((item.get("location") or {}).get("displayName") or ""),
        start=_instant(item.get("start")), end=_instant(item.get("end")),
        time_zone=_zone_name(str(item.get("originalStartTimeZone") or "")),
        is_private=item.get("sensitivity") in ("private", "confidential"),
        attendees=attendees, local_id=local_id, raw=item)


def teams_join_url(integration: Integration, event: Event) -> str:
    """The join URL of the Teams meeting created with `event` at this mailbox, or ""."""
    mapping = ExternalMapping.objects.filter(
        entity_type=ENTITY_TEAMS_MEETING, local_id=str(event.pk),
        connection_id=integration.connection_id).first()
    return str((mapping.raw or {}).get("joinUrl") or "") if mapping else ""


class MicrosoftCalendar:
    """The Outlook calendar of one integration (its `calendarId`, the default one otherwise)."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.settings: dict[str, Any] = integration.settings or {}
        calendar = str(self.settings.get("calendarId") or "primary")
        self.calendar_id = "" if calendar == "primary" else calendar
        self.client = api_client(integration.connection)
        # The window of the last full round listed, (start, end): the events a
        # complete list can speak for (None until a full round is read).
        self.listed_window: tuple[datetime, datetime] | None = None

    # -- paths and logs ----------------------------------------------------------
    @property
    def _calendar(self) -> str:
        return f"/me/calendars/{quote(self.calendar_id, safe='=')}" if self.calendar_id \
            else "/me"

    def _event(self, external_id: str) -> str:
        # Outlook ids end in base64 padding; "=" is a path character (RFC 3986
        # sub-delims) and Graph's own links leave it as is.
        return f"/me/events/{quote(external_id, safe='=')}"

    def _log(self, action: str, event_id: str | int = "") -> LogContext:
        return LogContext(action=f"microsoft.{action}", entity_type=ENTITY_EVENT if event_id
                          else "connection",
                          entity_id=str(event_id or self.integration.connection_id))

    def _checked_link(self, link: str) -> str:
        """A next or delta link, only to Graph itself: it is called with our token."""
        base = urlsplit(settings.MICROSOFT_API_URL)
        target = urlsplit(link)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise PermanentError(gettext(
                "Microsoft Graph answered a link to another host (%(host)s); it was not "
                "followed.") % {"host": target.netloc}, platform=Integration.Provider.MICROSOFT)
        return link

    # -- reading -------------------------------------------------------------------
    def changes(self, cursor: str) -> Iterator[ChangesPage]:
        now = timezone.now()
        if cursor:
            try:
                stored = json.loads(cursor)
                link, window_end = str(stored["deltaLink"]), parse_datetime(stored["windowEnd"])
            except (ValueError, KeyError, TypeError):
                raise FullSyncRequired("unreadable cursor") from None
            if window_end is None or window_end - now < REWINDOW_BEFORE:
                raise FullSyncRequired("the delta window is ending")
            url, params = self._checked_link(link), None
        else:
            window_end = now + WINDOW_AHEAD
            self.listed_window = (now - WINDOW_PAST, window_end)
            url = f"{self._calendar}/calendarView/delta"
            params = {"startDateTime": self.listed_window[0].astimezone(UTC).isoformat(),
                      "endDateTime": window_end.astimezone(UTC).isoformat()}
        while True:
            response = self.client.request(
                "GET", url, params=params,
                headers={"Prefer": f"odata.maxpagesize={PAGE_SIZE}, {PREFER_TEXT}"},
                accept=(410,), log=self._log("calendarView.delta"))
            if response.status_code == 410:
                raise FullSyncRequired(response.text[:300])
            body = response.json()
            events = [remote_event(self.integration, item) for item in body.get("value") or []
                      if isinstance(item, dict) and item.get("id")]
            next_link = str(body.get("@odata.nextLink") or "")
            if next_link:
                yield ChangesPage(events=events)
                url, params = self._checked_link(next_link), None
                continue
            delta_link = str(body.get("@odata.deltaLink") or "")
            yield ChangesPage(events=events, next_cursor=json.dumps(
                {"deltaLink": delta_link, "windowEnd": window_end.isoformat()})
                if delta_link else "")
            return

    # -- the way out ---------------------------------------------------------------
    def accepts(self, event: Event) -> bool:
        filters = self.settings.get("filters") or {}
        types = filters.get("eventTypes")
        if types and event.type not in types:
            return False
        if filters.get("excludePrivate") and event.is_private:
            return False
        minimum = filters.get("minDuration")
        return not (minimum and event.end - event.start < timedelta(minutes=int(minimum)))

    def _teams(self) -> bool:
        teams = self.settings.get("teamsIntegration") or {}
        return bool(teams.get("autoCreateMeetings")) and teams.get("enabled") is not False

    def resource(self, event: Event) -> dict[str, Any]:
        """Our event as Graph's event resource, per the integration's settings."""
        zone = _zone_name(event.time_zone) or "UTC"
        prefix = str(self.settings.get("eventPrefix") or "")
        include_description = self.settings.get("includeDescription", True)
        body: dict[str, Any] = {
            "subject": f"{prefix}{event.title}",
            # Every field is sent, empty when excluded, so nothing stale stays.
            "body": {"contentType": "text",
                     "content": event.description if include_description else ""},
            "start": {"dateTime": event.start.astimezone(ZoneInfo(zone))
                      .replace(tzinfo=None).isoformat(), "timeZone": zone},
            "end": {"dateTime": event.end.astimezone(ZoneInfo(zone))
                    .replace(tzinfo=None).isoformat(), "timeZone": zone},
            "location": {"displayName": event.location},
            "sensitivity": "private" if event.is_private else "normal",
            "attendees": [
                {"emailAddress": {"address": row.email, **({"name": row.name} if row.name
                                                            else {})},
                 "type": "required",
                 "status": {"response": OUR_RESPONSES.get(row.status, "none")}}
                for row in event.attendances.all()],
        }
        outlook = self.settings.get("outlookSettings") or {}
        color = str(outlook.get("categoryColor") or "")
        if color:
            # Outlook colours categories, not events: its preset categories
            # are named after their colour ("Blue category").
            # (Not translated: it is the name the mailbox holds, not ours.)
            body["categories"] = [] if color == "none" else [f"{color.capitalize()} category"]
        for key in ("importance", "showAs"):
            if outlook.get(key):
                body[key] = str(outlook[key])
        return body

    def create(self, event: Event, *, replacing: str = "") -> RemoteEvent:
        body = {**self.resource(event),
                "transactionId": transaction_id(self.integration, event, replacing=replacing)}
        if self._teams():
            body.update(isOnlineMeeting=True, onlineMeetingProvider=TEAMS)
        # Safe to repeat thanks to the transactionId: a retry of a lost
        # answer gets the first event back, never a second one.
        response = self.client.request("POST", f"{self._calendar}/events", json=body,
                                       headers={"Prefer": PREFER_TEXT}, idempotent=True,
                                       log=self._log("events.create", event.pk))
        remote = remote_event(self.integration, response.json())
        self._keep_meeting(event, remote)
        return remote

    def update(self, event: Event, external_id: str) -> RemoteEvent:
        response = self.client.request("PATCH", self._event(external_id),
                                       json=self.resource(event),
                                       headers={"Prefer": PREFER_TEXT}, idempotent=True,
                                       accept=(404,), log=self._log("events.update", event.pk))
        if response.status_code == 404:
            # Deleted there (by us when it left the filters, or by its owner):
            # Graph cannot bring an event back, so a new one replaces it.
            return self.create(event, replacing=external_id)
        remote = remote_event(self.integration, response.json())
        self._keep_meeting(event, remote)
        return remote

    def delete(self, external_id: str) -> None:
        self.client.request("DELETE", self._event(external_id), idempotent=True,
                            accept=(404, 410), log=self._log("events.delete"))

    def _keep_meeting(self, event: Event, remote: RemoteEvent) -> None:
        meeting = remote.raw.get("onlineMeeting") or {}
        if not remote.raw.get("isOnlineMeeting") or not meeting.get("joinUrl"):
            return
        mapping_upsert(entity_type=ENTITY_TEAMS_MEETING, local_id=event.pk,
                       connection=self.integration.connection, external_id=remote.external_id,
                       raw={"joinUrl": str(meeting["joinUrl"]),
                            "conferenceId": str(meeting.get("conferenceId") or "")})

    # -- push channels: Graph subscriptions (apps.integrations.graph_subscriptions) --
    def watch(self, *, channel_id: str, address: str, token: str,
              ttl_seconds: int) -> WatchedChannel:
        resource = f"me/calendars/{self.calendar_id}/events" if self.calendar_id \
            else "me/events"
        expires = timezone.now() + timedelta(seconds=ttl_seconds)
        # Graph validates the address (validationToken) before it answers.
        answer = self.client.request(
            "POST", "/subscriptions", idempotent=False, log=self._log("subscriptions.create"),
            json={"changeType": "created,updated,deleted", "notificationUrl": address,
                  "resource": resource, "clientState": token,
                  "expirationDateTime": expires.astimezone(UTC).isoformat()}).json()
        return WatchedChannel(channel_id=str(answer.get("id") or ""), resource_id=resource,
                              expires_at=_instant({"dateTime": answer.get(
                                  "expirationDateTime") or "", "timeZone": "UTC"}))

    def renew(self, *, channel_id: str, ttl_seconds: int) -> WatchedChannel | None:
        """Push a subscription's end further; None when Graph no longer has it."""
        expires = timezone.now() + timedelta(seconds=ttl_seconds)
        response = self.client.request(
            "PATCH", f"/subscriptions/{quote(channel_id, safe='')}", idempotent=True,
            accept=(404,), log=self._log("subscriptions.renew"),
            json={"expirationDateTime": expires.astimezone(UTC).isoformat()})
        if response.status_code == 404:
            return None
        answer = response.json()
        return WatchedChannel(channel_id=channel_id, resource_id=str(answer.get("resource") or ""),
                              expires_at=_instant({"dateTime": answer.get(
                                  "expirationDateTime") or "", "timeZone": "UTC"}))

    def stop(self, *, channel_id: str, resource_id: str) -> None:
        self.client.request("DELETE", f"/subscriptions/{quote(channel_id, safe='')}",
                            idempotent=True, accept=(404,), log=self._log("subscriptions.delete"))
