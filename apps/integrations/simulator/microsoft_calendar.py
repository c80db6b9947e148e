"""The mailbox behind the Microsoft 365 simulator: calendars, events and delta rounds.

Nothing here speaks HTTP: `microsoft.py` turns requests into calls on
`Mailbox` and its `GraphError`s into Graph's error bodies.

Event shape (resources/event, v1.0): id, subject, body {contentType, content},
bodyPreview, start/end {dateTime, timeZone}, isAllDay, location
{displayName, locationType}, attendees [{emailAddress {address, name}, type,
status {response, time}}], organizer, isOnlineMeeting, onlineMeetingProvider,
onlineMeeting {joinUrl, conferenceId}, categories, importance, sensitivity,
showAs, createdDateTime, lastModifiedDateTime, changeKey, @odata.etag,
iCalUId, transactionId (only when a client set it), isCancelled, type
"singleInstance". Times are kept in UTC and shown in UTC unless the request
asks for a zone with `Prefer: outlook.timezone="…"` [V: "By default, the
start time is in UTC"]; dateTime carries seven fractional digits as Graph
writes them.

Behaviours kept from the real service:
- `transactionId`: a second create with the same id returns the event the
  first one made, never a second event [V: "to avoid redundant POST
  operations in case of client retries"; what the repeated POST answers is
  not documented: here 201 with the first event, I]. It cannot change later.
- `isOnlineMeeting: true` with the calendar's provider (teamsForBusiness)
  gives `onlineMeeting.joinUrl`; once set, "Outlook ignores any further
  changes to isOnlineMeeting, and the meeting remains available online" [V].
  A provider the calendar does not allow leaves the event offline [I].
- Delta (event-delta, delta-query-overview) [V]: the first request names the
  window (startDateTime, endDateTime); pages follow `@odata.nextLink`
  (`$skiptoken`) to a last page with `@odata.deltaLink` (`$deltatoken`);
  `Prefer: odata.maxpagesize=N` sizes pages (10 when absent, I); the next
  round returns what changed since, deleted events as
  `{"id", "@removed": {"reason": "deleted"}}`. A changed event now outside
  the window is also reported as removed [I]. Tokens are opaque; an expired
  or reset one is 410 `syncStateNotFound` (or `resyncRequired`) with a
  `Location` that starts the round again [V: both codes in Graph's error
  list, the 410 + Location in "Synchronization reset"]. Outlook tokens have
  no fixed lifetime [V]; here `delta_token_lifetime_seconds`.

Not modelled: recurring series (`recurrence`) and `locations`, refused with
501 NotImplemented rather than dropped; `$select`, `$filter` and
`$orderby`, ignored.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TEAMS = "teamsForBusiness"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
# Writable properties of an event (resources/event); anything else in a body
# is refused the way Graph's OData reader refuses it.
WRITABLE = frozenset({
    "subject", "body", "start", "end", "location", "attendees", "isAllDay",
    "isOnlineMeeting", "onlineMeetingProvider", "categories", "importance", "sensitivity",
    "showAs", "transactionId", "isReminderOn", "reminderMinutesBeforeStart",
    "responseRequested", "allowNewTimeProposals", "hideAttendees",
})
# Real properties the simulator does not model: refused plainly rather than
# silently dropped (a series would otherwise become a single event).
NOT_SIMULATED = frozenset({"recurrence", "locations"})
# Read-only properties a client may echo back from a GET; Graph ignores them.
READ_ONLY = frozenset({
    "id", "@odata.etag", "@odata.context", "@odata.type", "changeKey", "createdDateTime",
    "lastModifiedDateTime", "iCalUId", "onlineMeeting", "organizer", "webLink", "bodyPreview",
    "isCancelled", "isOrganizer", "type", "seriesMasterId", "originalStartTimeZone",
    "originalEndTimeZone", "responseStatus", "onlineMeetingUrl", "hasAttachments", "isDraft",
})
CHOICES = {
    "importance": ("low", "normal", "high"),
    "sensitivity": ("normal", "personal", "private", "confidential"),
    "showAs": ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown"),
}
ATTENDEE_TYPES = ("required", "optional", "resource")
RESPONSES = ("none", "organizer", "tentativelyAccepted", "accepted", "declined",
             "notResponded")
# The Windows names Outlook uses most, besides IANA names and UTC, which it
# accepts too (dateTimeTimeZone: "Pacific Standard Time", …).
WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "Romance Standard Time": "Europe/Paris",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
}
_PREFER_ZONE = re.compile(r'outlook\.timezone\s*=\s*"([^"]+)"', re.IGNORECASE)
_PREFER_PAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
SYNC_STATE_NOT_FOUND = ("The sync state generation is not found. The delta token is expired and "
                        "data must be synchronized again.")


class GraphError(Exception):
    """An answer of Graph's error shape: {"error": {"code", "message", "innerError"}}."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_request(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


# -- time ---------------------------------------------------------------------------
def zone(name: str) -> ZoneInfo:
    iana = WINDOWS_ZONES.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise GraphError(400, "TimeZoneNotSupportedException",
                         "A valid TimeZone value must be specified. The following TimeZone "
                         f"value is not supported: '{name}'.") from exc


def preferred_zone(prefer: str) -> str:
    """The zone a `Prefer: outlook.timezone="…"` header asks for, or UTC."""
    match = _PREFER_ZONE.search(prefer or "")
    if not match:
        return "UTC"
    zone(match.group(1))  # refused when unknown, as Graph does
    return match.group(1)


def preferred_page_size(prefer: str) -> int | None:
    match = _PREFER_PAGE.search(prefer or "")
    return min(int(match.group(1)), MAX_PAGE_SIZE) if match and int(match.group(1)) else None


def parse_instant(value: Any, what: str) -> dt.datetime:
    """An ISO 8601 instant of a query parameter (offset or Z; naive means UTC)."""
    if not isinstance(value, str) or not value:
        raise GraphError(400, "ErrorInvalidParameter",
                         "This request requires a time window specified by the query string "
                         "parameters StartDateTime and EndDateTime.")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter",
                         f"The value '{value}' of parameter '{what}' is invalid.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date_time_zone(value: Any, what: str) -> tuple[dt.datetime, str]:
    """A dateTimeTimeZone ({dateTime, timeZone}) as a UTC instant and its zone's name."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise invalid_request(f"'{what}' must be a dateTimeTimeZone with a dateTime.")
    zone_name = value.get("timeZone") or "UTC"
    if not isinstance(zone_name, str):
        raise invalid_request(f"'{what}.timeZone' must be a string.")
    text = value["dateTime"]
    # Graph writes seven fractional digits; Python reads at most six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        local = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise invalid_request(f"'{what}.dateTime' is not a valid date and time.") from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(zone_name))
    else:
        zone(zone_name)
    return local.astimezone(dt.UTC), zone_name


def graph_date_time(instant: dt.datetime, zone_name: str) -> dict[str, str]:
    local = instant.astimezone(zone(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0",
            "timeZone": zone_name}


def graph_timestamp(instant: dt.datetime) -> str:
    """DateTimeOffset as Graph writes it: UTC with seven fractional digits."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{instant.microsecond:06d}0Z"


def outlook_id() -> str:
    """An opaque id looking like Exchange's (base64 of a long binary key)."""
    raw = b"\x00\x00\x00\x00" + secrets.token_bytes(66)
    return "AAMk" + base64.urlsafe_b64encode(raw).decode("ascii")


# -- events -------------------------------------------------------------------------
@dataclass
class Event:
    id: str
    calendar_id: str
    start: dt.datetime
    end: dt.datetime
    start_zone: str
    end_zone: str
    created: dt.datetime
    modified: dt.datetime
    change_key: str
    ical_uid: str
    seq: int  # the mailbox's change sequence at its last change
    subject: str = ""
    body: dict[str, str] = field(default_factory=lambda: {"contentType": "html", "content": ""})
    is_all_day: bool = False
    location: dict[str, Any] = field(default_factory=dict)
    attendees: list[dict[str, Any]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    importance: str = "normal"
    sensitivity: str = "normal"
    show_as: str = "busy"
    is_reminder_on: bool = True
    reminder_minutes: int = 15
    is_online: bool = False
    provider: str = "unknown"
    join_url: str = ""
    conference_id: str = ""
    transaction_id: str | None = None
    created_by: str = "api"  # api | owner: who made it, for /_sim/state

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start < end and self.end > start


@dataclass
class Tombstone:
    id: str
    calendar_id: str
    seq: int


@dataclass
class DeltaState:
    """One delta round's position: what it has seen (since) and up to where it reads."""

    calendar_id: str
    start: dt.datetime
    end: dt.datetime
    page_size: int
    since: int | None  # None: the initial (full) round
    upto: int
    offset: int
    created_at: float
    generation: int


@dataclass
class Calendar:
    id: str
    name: str
    is_default: bool
    color: str = "auto"
    change_key: str = field(default_factory=lambda: secrets.token_urlsafe(12))


class Mailbox:
    """One user's mailbox: calendars, events, a change sequence and delta tokens."""

    def __init__(self, *, user_id: str, tenant_id: str, display_name: str, mail: str,
                 delta_token_lifetime_seconds: float) -> None:
        self.user_id = user_id
        self.tenant_id = tenant_id
        self.display_name = display_name
        self.mail = mail
        self.delta_token_lifetime_seconds = delta_token_lifetime_seconds
        self.clear()

    def clear(self) -> None:
        default = Calendar(id=outlook_id(), name="Calendar", is_default=True)
        self.calendars: dict[str, Calendar] = {default.id: default}
        self.default_calendar_id = default.id
        self.events: dict[str, Event] = {}
        self.tombstones: dict[str, Tombstone] = {}
        self.transactions: dict[str, str] = {}  # transactionId -> event id
        self.seq = 0
        self.tokens: dict[str, DeltaState] = {}
        # Raised by a reset: every token of an older generation is gone.
        self.generation = 0
        self.reset_code = "syncStateNotFound"
        self.duplicate_creates = 0

    # -- calendars --------------------------------------------------------------
    def calendar(self, calendar_id: str | None) -> Calendar:
        if calendar_id is None:
            return self.calendars[self.default_calendar_id]
        found = self.calendars.get(calendar_id)
        if found is None:
            raise not_found()
        return found

    def add_calendar(self, name: str) -> Calendar:
        calendar = Calendar(id=outlook_id(), name=name, is_default=False)
        self.calendars[calendar.id] = calendar
        return calendar

    def calendar_view(self, calendar: Calendar) -> dict[str, Any]:
        return {
            "id": calendar.id, "name": calendar.name, "color": calendar.color,
            "hexColor": "", "isDefaultCalendar": calendar.is_default,
            "changeKey": calendar.change_key, "canShare": True, "canViewPrivateItems": True,
            "canEdit": True, "isRemovable": not calendar.is_default,
            "isTallyingResponses": True,
            "allowedOnlineMeetingProviders": [TEAMS],
            "defaultOnlineMeetingProvider": TEAMS,
            "owner": {"name": self.display_name, "address": self.mail},
        }

    # -- events -----------------------------------------------------------------
    def event(self, event_id: str) -> Event:
        found = self.events.get(event_id)
        if found is None:
            raise not_found()
        return found

    def create(self, body: Any, *, calendar_id: str | None, now: dt.datetime,
               created_by: str = "api") -> tuple[Event, bool]:
        """The new event, or the one a repeated transactionId already made (False)."""
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        calendar = self.calendar(calendar_id)
        _check_properties(body)
        transaction_id = body.get("transactionId")
        if transaction_id is not None and not isinstance(transaction_id, str):
            raise invalid_request("'transactionId' must be a string.")
        if transaction_id and transaction_id in self.transactions:
            existing = self.events.get(self.transactions[transaction_id])
            if existing is not None:
                self.duplicate_creates += 1
                return existing, False
        if "start" not in body or "end" not in body:
            raise invalid_request("Your request can't be completed. An event needs a start "
                                  "and an end.")
        start, start_zone = parse_date_time_zone(body["start"], "start")
        end, end_zone = parse_date_time_zone(body["end"], "end")
        self.seq += 1
        event = Event(id=outlook_id(), calendar_id=calendar.id, start=start, end=end,
                      start_zone=start_zone, end_zone=end_zone, created=now, modified=now,
                      change_key=secrets.token_urlsafe(16), seq=self.seq,
                      ical_uid="040000008200E00074C5B7101A82E008" + secrets.token_hex(40).upper(),
                      transaction_id=transaction_id or None, created_by=created_by)
        self._apply(event, body, creating=True)
        self.events[event.id] = event
        if event.transaction_id:
            self.transactions[event.transaction_id] = event.id
        return event, True

    def update(self, event_id: str, body: Any, *, now: dt.datetime) -> Event:
        event = self.event(event_id)
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        _check_properties(body)
        start, start_zone = (parse_date_time_zone(body["start"], "start") if "start" in body
                             else (event.start, event.start_zone))
        end, end_zone = (parse_date_time_zone(body["end"], "end") if "end" in body
                         else (event.end, event.end_zone))
        if end < start:
            raise invalid_request("The end of an event can't be before its start.")
        event.start, event.start_zone, event.end, event.end_zone = start, start_zone, end, end_zone
        self._apply(event, body, creating=False)
        self.seq += 1
        event.seq = self.seq
        event.modified = now
        event.change_key = secrets.token_urlsafe(16)
        return event

    def delete(self, event_id: str) -> Event:
        event = self.event(event_id)
        del self.events[event_id]
        self.seq += 1
        self.tombstones[event_id] = Tombstone(id=event_id, calendar_id=event.calendar_id,
                                              seq=self.seq)
        return event

    def _apply(self, event: Event, body: dict[str, Any], *, creating: bool) -> None:
        if creating and event.end < event.start:
            raise invalid_request("The end of an event can't be before its start.")
        if "subject" in body:
            event.subject = _string(body["subject"], "subject")
        if "body" in body:
            event.body = _item_body(body["body"])
        if "location" in body:
            event.location = _location(body["location"])
        if "attendees" in body:
            event.attendees = _attendees(body["attendees"])
        if "categories" in body:
            value = body["categories"]
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise invalid_request("'categories' must be a list of strings.")
            event.categories = list(value)
        for key, attribute in (("importance", "importance"), ("sensitivity", "sensitivity"),
                               ("showAs", "show_as")):
            if key in body:
                value = body[key]
                if value not in CHOICES[key]:
                    raise GraphError(400, "RequestBodyRead",
                                     f"Requested value '{value}' was not found.")
                setattr(event, attribute, value)
        if "isAllDay" in body:
            event.is_all_day = bool(body["isAllDay"])
        if "isReminderOn" in body:
            event.is_reminder_on = bool(body["isReminderOn"])
        if "reminderMinutesBeforeStart" in body:
            event.reminder_minutes = int(body["reminderMinutesBeforeStart"])
        # An online meeting is a one-way door: once on, later changes are ignored.
        if not event.is_online and body.get("isOnlineMeeting") is True:
            provider = body.get("onlineMeetingProvider") or TEAMS
            if provider == "unknown":
                provider = TEAMS  # the calendar's default provider
            if provider == TEAMS:
                event.is_online = True
                event.provider = TEAMS
                event.conference_id = str(secrets.randbelow(10**9)).zfill(9)
                event.join_url = self._join_url()

    def _join_url(self) -> str:
        meeting = base64.urlsafe_b64encode(secrets.token_bytes(27)).decode("ascii")
        context = ('%7b%22Tid%22%3a%22' + self.tenant_id + '%22%2c%22Oid%22%3a%22'
                   + self.user_id + '%22%7d')
        return (f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{meeting}"
                f"%40thread.v2/0?context={context}")

    def view(self, event: Event, zone_name: str = "UTC") -> dict[str, Any]:
        content = event.body.get("content", "")
        data: dict[str, Any] = {
            "@odata.etag": f'W/"{event.change_key}"',
            "id": event.id,
            "createdDateTime": graph_timestamp(event.created),
            "lastModifiedDateTime": graph_timestamp(event.modified),
            "changeKey": event.change_key,
            "categories": list(event.categories),
            "originalStartTimeZone": event.start_zone,
            "originalEndTimeZone": event.end_zone,
            "iCalUId": event.ical_uid,
            "reminderMinutesBeforeStart": event.reminder_minutes,
            "isReminderOn": event.is_reminder_on,
            "hasAttachments": False,
            "subject": event.subject,
            "bodyPreview": re.sub(r"<[^>]+>", "", content)[:255],
            "importance": event.importance,
            "sensitivity": event.sensitivity,
            "isAllDay": event.is_all_day,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": True,
            "seriesMasterId": None,
            "showAs": event.show_as,
            "type": "singleInstance",
            "webLink": f"https://outlook.office365.com/owa/?itemid={event.id}&exvsurl=1&path="
                       "/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": event.is_online,
            "onlineMeetingProvider": event.provider,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": dict(event.body),
            "start": graph_date_time(event.start, zone_name),
            "end": graph_date_time(event.end, zone_name),
            "location": {"displayName": "", "locationType": "default",
                         "uniqueIdType": "unknown", **event.location},
            "attendees": [dict(a) for a in event.attendees],
            "organizer": {"emailAddress": {"name": self.display_name, "address": self.mail}},
            "onlineMeeting": ({"joinUrl": event.join_url, "conferenceId": event.conference_id}
                              if event.is_online else None),
        }
        # "This property is only returned in a response payload if an app has set it."
        if event.transaction_id:
            data["transactionId"] = event.transaction_id
        return data

    # -- delta ------------------------------------------------------------------
    def delta_start(self, *, calendar_id: str | None, start: dt.datetime, end: dt.datetime,
                    page_size: int | None, now: float) -> DeltaState:
        calendar = self.calendar(calendar_id)
        if end <= start:
            raise GraphError(400, "ErrorInvalidParameter",
                             "The parameter 'EndDateTime' must be later than 'StartDateTime'.")
        return DeltaState(calendar_id=calendar.id, start=start, end=end,
                          page_size=page_size or DEFAULT_PAGE_SIZE, since=None, upto=self.seq,
                          offset=0, created_at=now, generation=self.generation)

    def delta_resume(self, token: str, *, page_size: int | None, now: float,
                     restart_url: Callable[[DeltaState], str]) -> DeltaState:
        """The round a `$skiptoken` or `$deltatoken` stands for, or GraphError 410.

        A token from before a reset is answered with the reset's code and a
        Location that starts the same window again; an unknown or expired one
        with `syncStateNotFound`.
        """
        state = self.tokens.get(token)
        if state is None or now - state.created_at > self.delta_token_lifetime_seconds:
            raise GraphError(410, "syncStateNotFound", SYNC_STATE_NOT_FOUND)
        if state.generation != self.generation:
            message = SYNC_STATE_NOT_FOUND if self.reset_code == "syncStateNotFound" else \
                "The delta token is no longer valid, and the app must reset the sync state."
            raise GraphError(410, self.reset_code, message,
                             headers={"Location": restart_url(state)})
        if state.offset == 0 and state.since is not None:
            # A deltaLink opens a new round: it reads up to what exists now.
            state = DeltaState(**{**state.__dict__, "upto": self.seq, "created_at": now})
        if page_size:
            state = DeltaState(**{**state.__dict__, "page_size": page_size})
        return state

    def delta_page(self, state: DeltaState, now: float
                   ) -> tuple[list[dict[str, Any]], str | None, str | None]:
        """(items, skiptoken, deltatoken): one of the two tokens is set."""
        items = self._delta_items(state)
        page = items[state.offset:state.offset + state.page_size]
        next_offset = state.offset + len(page)
        if next_offset < len(items):
            token = secrets.token_urlsafe(24)
            self.tokens[token] = DeltaState(**{**state.__dict__, "offset": next_offset})
            return page, token, None
        token = secrets.token_urlsafe(24)
        self.tokens[token] = DeltaState(**{**state.__dict__, "since": state.upto, "offset": 0,
                                           "created_at": now})
        return page, None, token

    def _delta_items(self, state: DeltaState) -> list[dict[str, Any]]:
        # Computed again for each page from the round's fixed bounds (since,
        # upto], so a page is the same however often it is asked for; events
        # changed after the round began wait for the next round.
        changed: list[tuple[int, dict[str, Any]]] = []
        for event in self.events.values():
            if event.calendar_id != state.calendar_id:
                continue
            if state.since is None:
                if event.seq <= state.upto and event.overlaps(state.start, state.end):
                    changed.append((event.seq, self.view(event)))
                continue
            if not state.since < event.seq <= state.upto:
                continue
            if event.overlaps(state.start, state.end):
                changed.append((event.seq, self.view(event)))
            else:
                changed.append((event.seq, _removed(event.id)))
        if state.since is not None:
            for tombstone in self.tombstones.values():
                if tombstone.calendar_id == state.calendar_id and \
                        state.since < tombstone.seq <= state.upto:
                    changed.append((tombstone.seq, _removed(tombstone.id)))
        changed.sort(key=lambda pair: pair[0])
        return [item for _, item in changed]

    def delta_reset(self, code: str) -> None:
        # Tokens are kept (not cleared) so that each is answered with this
        # reset's code rather than as an unknown one.
        self.generation += 1
        self.reset_code = code

    def state(self) -> dict[str, Any]:
        return {
            "user": {"id": self.user_id, "mail": self.mail, "displayName": self.display_name},
            "calendars": [self.calendar_view(c) for c in self.calendars.values()],
            "events": [{**self.view(e), "calendarId": e.calendar_id, "createdBy": e.created_by}
                       for e in self.events.values()],
            "deleted": sorted(self.tombstones),
            "duplicate_creates": self.duplicate_creates,
            "delta_tokens": len(self.tokens),
            "delta_generation": self.generation,
        }


def _removed(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id,
            "@removed": {"reason": "deleted"}}


def _check_properties(body: dict[str, Any]) -> None:
    for key in body:
        if key in NOT_SIMULATED and body[key] is not None:
            raise GraphError(501, "NotImplemented",
                             f"The simulator does not model '{key}' (Graph accepts it).")
        if key in WRITABLE or key in NOT_SIMULATED or key in READ_ONLY or key.startswith("@"):
            continue
        raise GraphError(400, "RequestBodyRead",
                         f"The property '{key}' does not exist on type 'microsoft.graph.event'. "
                         "Make sure to only use property names that are defined by the type or "
                         "mark the type as open type.")


def _string(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_request(f"'{what}' must be a string.")
    return value


def _item_body(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid_request("'body' must be an itemBody.")
    content_type = value.get("contentType", "html")
    if content_type not in ("text", "html"):
        raise GraphError(400, "RequestBodyRead", f"Requested value '{content_type}' was not found.")
    return {"contentType": content_type, "content": _string(value.get("content"), "body.content")}


def _location(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_request("'location' must be a location.")
    return {"displayName": _string(value.get("displayName"), "location.displayName"),
            "locationType": value.get("locationType", "default")}


def _attendees(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid_request("'attendees' must be a list.")
    attendees = []
    for item in value:
        address = item.get("emailAddress") if isinstance(item, dict) else None
        if not isinstance(address, dict) or not isinstance(address.get("address"), str):
            raise invalid_request("Each attendee needs an emailAddress with an address.")
        kind = item.get("type", "required")
        if kind not in ATTENDEE_TYPES:
            raise GraphError(400, "RequestBodyRead", f"Requested value '{kind}' was not found.")
        status = item.get("status") if isinstance(item.get("status"), dict) else {}
        response = status.get("response", "none")
        if response not in RESPONSES:
            raise GraphError(400, "RequestBodyRead", f"Requested value '{response}' was not found.")
        attendees.append({
            "type": kind,
            "status": {"response": response, "time": status.get("time", "0001-01-01T00:00:00Z")},
            "emailAddress": {"name": address.get("name") or address["address"],
                             "address": address["address"]},
        })
    return attendees
