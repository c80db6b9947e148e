"""The Google Calendar adapter: Calendar API v3 events on the connection's client.

Calls (developers.google.com/workspace/calendar/api/v3/reference/events):
  GET    /calendars/{calendarId}/events         full list, then incremental with
         syncToken (nextSyncToken on the last page; 410 when it is forgotten)
  POST   /calendars/{calendarId}/events         insert with a client-set id: the
         same id twice is 409 duplicate, so a retried create is one event
  GET|PUT /calendars/{calendarId}/events/{id}
  DELETE /calendars/{calendarId}/events/{id}    404 / 410 deleted: already gone
  POST   /calendars/{calendarId}/events/watch   a web_hook channel
  POST   /channels/stop                         {id, resourceId}

Our events carry their id and version in private extended properties, so a
pull recognises what we pushed. The integration's settings shape what goes
out: `eventMapping` (titlePrefix, includeAttendees, includeDescription,
includeLocation, colorId), `filters` (eventTypes, excludePrivate, minDuration
in minutes) and `notifications` (reminders, reminderMinutes as popups).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.dateparse import parse_date, parse_datetime

from apps.core.audit import LogContext
from apps.core.http import PermanentError, TransientError
from apps.integrations.calendars import (
    ChangesPage,
    FullSyncRequired,
    RemoteAttendee,
    RemoteEvent,
    WatchedChannel,
)
from apps.integrations.client import api_client
from apps.integrations.models import ENTITY_EVENT, Attendance, Event, Integration

# Google's maximum is 2,500; 250 (its default) keeps a page's transaction short.
PAGE_SIZE = 250
# Where our id and version ride on the event (private: only our OAuth client sees them).
LOCAL_ID_PROPERTY = "hubEventId"
LOCAL_VERSION_PROPERTY = "hubVersion"
# Google's responseStatus -> our attendance status, and back.
RESPONSE_STATUS = {"needsAction": Attendance.Status.INVITED,
                   "accepted": Attendance.Status.ACCEPTED,
                   "tentative": Attendance.Status.TENTATIVE,
                   "declined": Attendance.Status.DECLINED}
OUR_STATUS = {Attendance.Status.ACCEPTED: "accepted", Attendance.Status.TENTATIVE: "tentative",
              Attendance.Status.DECLINED: "declined",
              # Present and absent are after the event; the invitation was accepted.
              Attendance.Status.PRESENT: "accepted"}


def google_event_id(integration: Integration, event: Event) -> str:
    """The client-set id of our event at this integration's calendar.

    Google wants base32hex (a-v, 0-9), 5 to 1024 characters; a hash of the
    connection and the event gives the same id at every retry, and another
    id on another calendar of ours, so a reconnected account starts clean.
    """
    digest = hashlib.sha256(f"hub:{integration.connection_id}:{event.pk}".encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()[:32]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _instant(value: dict[str, Any] | None, zone: str) -> datetime | None:
    """A Google start or end: dateTime (RFC 3339), or date for an all-day event."""
    if not isinstance(value, dict):
        return None
    if value.get("dateTime"):
        moment = parse_datetime(str(value["dateTime"]))
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=_zone(value.get("timeZone") or zone))
        return moment.astimezone(UTC) if moment else None
    if value.get("date"):
        day = parse_date(str(value["date"]))
        if isinstance(day, date):
            return datetime.combine(day, time(), tzinfo=_zone(value.get("timeZone") or zone)) \
                .astimezone(UTC)
    return None


def remote_event(item: dict[str, Any], *, calendar_zone: str = "UTC") -> RemoteEvent:
    """Google's Event resource in our words."""
    external_id = str(item.get("id") or "")
    if item.get("status") == "cancelled":
        return RemoteEvent(external_id=external_id, cancelled=True, raw=item)
    start = item.get("start") or {}
    zone = str(start.get("timeZone") or calendar_zone)
    private = ((item.get("extendedProperties") or {}).get("private") or {})
    version = str(private.get(LOCAL_VERSION_PROPERTY) or "")
    attendees = tuple(
        RemoteAttendee(email=str(attendee["email"]),
                       name=str(attendee.get("displayName") or ""),
                       status=RESPONSE_STATUS.get(attendee.get("responseStatus"),
                                                  Attendance.Status.INVITED))
        for attendee in item.get("attendees") or []
        if isinstance(attendee, dict) and attendee.get("email") and not attendee.get("resource"))
    return RemoteEvent(
        external_id=external_id, cancelled=False, title=str(item.get("summary") or ""),
        description=str(item.get("description") or ""),
        location=str(item.get("location") or ""),
        start=_instant(start, zone), end=_instant(item.get("end"), zone), time_zone=zone,
        is_private=item.get("visibility") in ("private", "confidential"),
        attendees=attendees, local_id=str(private.get(LOCAL_ID_PROPERTY) or ""),
        local_version=int(version) if version.isdigit() else None, raw=item)


# Google answers some of its limits with 403 (usageLimits domain), which the
# core client takes as a refusal for good; they are worth a retry later.
# developers.google.com/workspace/calendar/api/guides/errors
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


def _rate_limited(exc: PermanentError) -> TransientError | None:
    if exc.status_code == 403 and exc.error.code in RATE_LIMIT_REASONS:
        return TransientError(str(exc), platform=exc.platform, status_code=403,
                              error=exc.error, response=exc.response)
    return None


class GoogleCalendar:
    """The Google calendar of one integration (its `calendarId`, "primary" by default)."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.settings: dict[str, Any] = integration.settings or {}
        self.calendar_id = str(self.settings.get("calendarId") or "primary")
        self.client = api_client(integration.connection)

    def _request(self, method: str, path: str, **kwargs: Any):
        try:
            return self.client.request(method, path, **kwargs)
        except PermanentError as exc:
            transient = _rate_limited(exc)
            if transient is not None:
                raise transient from exc
            raise

    # -- paths and logs ----------------------------------------------------------
    @property
    def _events(self) -> str:
        return f"/calendars/{quote(self.calendar_id, safe='')}/events"

    def _log(self, action: str, event_id: str | int = "") -> LogContext:
        return LogContext(action=f"google.{action}", entity_type=ENTITY_EVENT if event_id
                          else "connection",
                          entity_id=str(event_id or self.integration.connection_id))

    # -- reading -------------------------------------------------------------------
    def changes(self, cursor: str) -> Iterator[ChangesPage]:
        params: dict[str, Any] = {"maxResults": PAGE_SIZE}
        if cursor:
            params["syncToken"] = cursor
        else:
            # A full list leaves out what was deleted before we ever knew it.
            params["showDeleted"] = "false"
        page_token = ""
        while True:
            query = {**params, **({"pageToken": page_token} if page_token else {})}
            response = self._request("GET", self._events, params=query, accept=(410,),
                                     log=self._log("events.list"))
            if response.status_code == 410:
                # fullSyncRequired: the token expired or was invalidated.
                raise FullSyncRequired(response.text[:300])
            body = response.json()
            zone = str(body.get("timeZone") or "UTC")
            events = [remote_event(item, calendar_zone=zone) for item in body.get("items") or []
                      if isinstance(item, dict) and item.get("id")]
            page_token = str(body.get("nextPageToken") or "")
            if not page_token:
                yield ChangesPage(events=events, next_cursor=str(body.get("nextSyncToken") or ""))
                return
            yield ChangesPage(events=events)

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

    def resource(self, event: Event) -> dict[str, Any]:
        """Our event as Google's Event resource, per the integration's mapping settings."""
        mapping = self.settings.get("eventMapping") or {}
        zone = _zone(event.time_zone)
        body: dict[str, Any] = {
            "summary": f"{mapping.get('titlePrefix') or ''}{event.title}",
            "start": {"dateTime": event.start.astimezone(zone).isoformat(),
                      "timeZone": event.time_zone},
            "end": {"dateTime": event.end.astimezone(zone).isoformat(),
                    "timeZone": event.time_zone},
            "status": "confirmed",
            "visibility": "private" if event.is_private else "default",
            "extendedProperties": {"private": {LOCAL_ID_PROPERTY: str(event.pk),
                                               LOCAL_VERSION_PROPERTY: str(event.version)}},
        }
        # Each field is sent empty rather than left out when it is excluded:
        # a PUT replaces the whole event, so Google keeps nothing stale.
        body["description"] = event.description if mapping.get("includeDescription",
                                                                True) else ""
        body["location"] = event.location if mapping.get("includeLocation", True) else ""
        if mapping.get("colorId"):
            body["colorId"] = str(mapping["colorId"])
        if mapping.get("includeAttendees", True):
            body["attendees"] = [
                {"email": row.email, **({"displayName": row.name} if row.name else {}),
                 "responseStatus": OUR_STATUS.get(row.status, "needsAction")}
                for row in event.attendances.all()]
        reminders = self.settings.get("notifications") or {}
        if reminders.get("reminders") is False:
            body["reminders"] = {"useDefault": False, "overrides": []}
        elif reminders.get("reminderMinutes"):
            body["reminders"] = {"useDefault": False, "overrides": [
                {"method": "popup", "minutes": int(minutes)}
                for minutes in reminders["reminderMinutes"]]}
        return body

    def create(self, event: Event) -> RemoteEvent:
        body = {"id": google_event_id(self.integration, event), **self.resource(event)}
        # Not idempotent by HTTP's rules, but by the client-set id: a retry
        # of a lost answer is a 409, answered below, never a second event.
        response = self._request("POST", self._events, json=body, idempotent=True,
                                 accept=(409,), log=self._log("events.insert", event.pk))
        if response.status_code == 409:
            # Created before (an earlier attempt whose answer was lost, or a
            # reconcile): write our current state over it.
            return self.update(event, body["id"])
        return remote_event(response.json())

    def update(self, event: Event, external_id: str) -> RemoteEvent:
        response = self._request(
            "PUT", f"{self._events}/{quote(external_id, safe='')}", json=self.resource(event),
            idempotent=True, log=self._log("events.update", event.pk))
        return remote_event(response.json())

    def delete(self, external_id: str) -> None:
        self._request("DELETE", f"{self._events}/{quote(external_id, safe='')}",
                      idempotent=True, accept=(404, 410), log=self._log("events.delete"))

    # -- push channels ---------------------------------------------------------------
    def watch(self, *, channel_id: str, address: str, token: str,
              ttl_seconds: int) -> WatchedChannel:
        body = {"id": channel_id, "type": "web_hook", "address": address, "token": token,
                "params": {"ttl": str(ttl_seconds)}}
        answer = self._request("POST", f"{self._events}/watch", json=body, idempotent=False,
                               log=self._log("events.watch")).json()
        expiration = str(answer.get("expiration") or "")
        expires_at = (datetime.fromtimestamp(int(expiration) / 1000, tz=UTC)
                      if expiration.isdigit() else None)
        return WatchedChannel(channel_id=str(answer.get("id") or channel_id),
                              resource_id=str(answer.get("resourceId") or ""),
                              expires_at=expires_at)

    def stop(self, *, channel_id: str, resource_id: str) -> None:
        try:
            self._request("POST", "/channels/stop",
                          json={"id": channel_id, "resourceId": resource_id},
                          idempotent=True, accept=(404,), log=self._log("channels.stop"))
        except PermanentError as exc:
            # A channel that already expired may be refused; it sends nothing either way.
            if exc.status_code not in (400, 404):
                raise
