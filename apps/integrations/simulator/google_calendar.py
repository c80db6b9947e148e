"""Calendars and events of the Google simulator: the Event resource, its checks,
and the listing with page and sync tokens.

Every change to an event (created, changed, cancelled) takes the next number
of one counter; a sync token is "changes after number N", so an incremental
list returns exactly the events changed since, cancelled ones included.
Tokens are opaque to the client (base64 of a small JSON document) and carry
the simulator's epoch: a new epoch (a /_sim/ control, or a reset) makes
every earlier sync token 410 Gone, as does age past `max_age_seconds`.

A list is paged by creation order, and only events changed up to the number
the first page saw (its high-water mark) are listed: an event changed while
the client pages through is left for the next incremental sync, whose token
starts at that mark, so nothing is missed and nothing shifts between pages.

Event fields are Google's (v3 Event resource); fields Google ignores on
input (etag, updated, htmlLink, ...) are ignored here too. Recurring events
are stored with their `recurrence` but not expanded into instances, so
`singleEvents` changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CONFIRMED, TENTATIVE, CANCELLED = "confirmed", "tentative", "cancelled"
STATUSES = (CONFIRMED, TENTATIVE, CANCELLED)
VISIBILITIES = ("default", "public", "private", "confidential")
TRANSPARENCIES = ("opaque", "transparent")
RESPONSE_STATUSES = ("needsAction", "declined", "tentative", "accepted")
REMINDER_METHODS = ("email", "popup")
MAX_REMINDER_MINUTES = 40320  # four weeks
MAX_REMINDER_OVERRIDES = 5
COLOR_IDS = tuple(str(number) for number in range(1, 12))
# base32hex (RFC 2938 §3.1.2): lowercase a-v and digits, 5 to 1024 characters.
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_MAX_RESULTS = 250
MAX_MAX_RESULTS = 2500
# Fields a client may write; the rest of the resource is the server's.
WRITABLE = ("status", "summary", "description", "location", "colorId", "start", "end",
            "attendees", "reminders", "visibility", "transparency", "extendedProperties",
            "recurrence", "sequence", "guestsCanModify", "guestsCanInviteOthers",
            "guestsCanSeeOtherGuests", "anyoneCanAddSelf", "source")
# Filters Google refuses together with a sync token.
SYNC_INCOMPATIBLE = ("timeMin", "timeMax", "updatedMin", "q", "orderBy", "iCalUID",
                     "privateExtendedProperty", "sharedExtendedProperty")


class CalendarError(Exception):
    """An API error: HTTP status, Google's domain and reason, the message."""

    def __init__(self, status: int, reason: str, message: str, *, domain: str = "global",
                 location: str = "", location_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"domain": self.domain, "reason": self.reason,
                                  "message": self.message}
        if self.location:
            detail.update(locationType=self.location_type or "parameter",
                          location=self.location)
        return {"error": {"errors": [detail], "code": self.status, "message": self.message}}


def invalid(message: str, *, reason: str = "invalid", location: str = "",
            domain: str = "global") -> CalendarError:
    return CalendarError(400, reason, message, domain=domain, location=location)


def not_found() -> CalendarError:
    return CalendarError(404, "notFound", "Not Found")


def full_sync_required() -> CalendarError:
    return CalendarError(410, "fullSyncRequired",
                         "Sync token is no longer valid, a full sync is required.",
                         domain="calendar", location="syncToken")


def rfc3339(seconds: float) -> str:
    """Google's timestamps: UTC, milliseconds, Z."""
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_rfc3339(value: str, name: str) -> dt.datetime:
    """A timestamp with its offset, as timeMin and timeMax must be."""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid("Bad Request", reason="badRequest", location=name) from exc
    if moment.tzinfo is None:
        raise invalid("Bad Request", reason="badRequest", location=name)
    return moment


@dataclass
class StoredEvent:
    resource: dict[str, Any]
    order: int  # creation order, for paging
    changed: int  # the change number of its last change

    @property
    def cancelled(self) -> bool:
        return self.resource.get("status") == CANCELLED


@dataclass
class Calendar:
    id: str
    summary: str
    time_zone: str
    owner_email: str
    owner_name: str
    events: dict[str, StoredEvent] = field(default_factory=dict)
    updated_at: float | None = None  # its events' last change

    def resource(self) -> dict[str, Any]:
        return {"kind": "calendar#calendar", "etag": f'"{_digest(self.id)}"', "id": self.id,
                "summary": self.summary, "timeZone": self.time_zone}

    def list_entry(self, *, primary: bool) -> dict[str, Any]:
        entry = {"kind": "calendar#calendarListEntry", "etag": f'"{_digest(self.id)}"',
                 "id": self.id, "summary": self.summary, "timeZone": self.time_zone,
                 "accessRole": "owner", "defaultReminders": [{"method": "popup", "minutes": 10}]}
        if primary:
            entry["primary"] = True
        return entry

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _digest(text: str) -> int:
    # A stable number for etags of things that do not change.
    return sum((index + 1) * ord(char) for index, char in enumerate(text)) * 7919


# -- tokens --------------------------------------------------------------------------

def encode_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str, name: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise invalid(f"Invalid {name} value.", location=name) from exc
    if not isinstance(payload, dict):
        raise invalid(f"Invalid {name} value.", location=name)
    return payload


# -- validation --------------------------------------------------------------------------

def validate_event(body: dict[str, Any], *, existing_sequence: int = 0) -> dict[str, Any]:
    """The writable fields of `body`, checked as Google checks them."""
    fields = {key: copy.deepcopy(body[key]) for key in WRITABLE if key in body}
    for name in ("start", "end"):
        if not isinstance(fields.get(name), dict):
            raise invalid(f"Missing {name} time.", reason="required")
    start_kind = _check_time(fields["start"], "start")
    end_kind = _check_time(fields["end"], "end")
    if start_kind != end_kind:
        raise invalid("Start and end times must either both be date or both be dateTime.")
    if _instant(fields["end"], "UTC") < _instant(fields["start"], "UTC"):
        raise CalendarError(400, "timeRangeEmpty", "The specified time range is empty.",
                            domain="calendar", location="end.dateTime")
    status = fields.get("status", CONFIRMED)
    if status not in STATUSES:
        raise invalid(f"Invalid value for: status: {status}", location="status")
    for name, allowed in (("visibility", VISIBILITIES), ("transparency", TRANSPARENCIES),
                          ("colorId", COLOR_IDS)):
        if name in fields and fields[name] not in allowed:
            raise invalid(f"Invalid value for: {name}", location=name)
    for name in ("summary", "description", "location"):
        if name in fields and not isinstance(fields[name], str):
            raise invalid(f"Invalid value for: {name}", location=name)
    if "attendees" in fields:
        fields["attendees"] = _attendees(fields["attendees"])
    if "reminders" in fields:
        _check_reminders(fields["reminders"])
    if "extendedProperties" in fields:
        _check_extended(fields["extendedProperties"])
    if "sequence" in fields:
        sequence = fields["sequence"]
        if not isinstance(sequence, int) or sequence < existing_sequence:
            raise invalid("Invalid sequence value. The specified sequence number is below "
                          "the current sequence number of the resource.", location="sequence")
    return fields


def _check_time(value: dict[str, Any], name: str) -> str:
    if "dateTime" in value:
        raw = value["dateTime"]
        try:
            moment = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError as exc:
            raise invalid(f"Invalid {name} time.", location=f"{name}.dateTime") from exc
        zone = value.get("timeZone")
        if zone is not None:
            _zone(zone, name)
        elif moment.tzinfo is None:
            raise invalid(f"Missing time zone definition for {name} time.")
        return "dateTime"
    if "date" in value:
        try:
            dt.date.fromisoformat(str(value["date"]))
        except ValueError as exc:
            raise invalid(f"Invalid {name} time.", location=f"{name}.date") from exc
        return "date"
    raise invalid(f"Missing {name} time.", reason="required")


def _zone(name: Any, which: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"Invalid time zone definition for {which} time.") from exc


def _instant(value: dict[str, Any], calendar_zone: str) -> dt.datetime:
    """When a start or end is, for comparisons; a date starts at midnight in the calendar's zone."""
    if "dateTime" in value:
        moment = dt.datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(str(value["timeZone"])))
        return moment
    day = dt.date.fromisoformat(str(value["date"]))
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(calendar_zone))


def _attendees(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid("Invalid value for: attendees", location="attendees")
    attendees = []
    for attendee in value:
        if not isinstance(attendee, dict) or not EMAIL.match(str(attendee.get("email", ""))):
            raise invalid("Invalid attendee email.")
        status = attendee.get("responseStatus", "needsAction")
        if status not in RESPONSE_STATUSES:
            raise invalid("Invalid value for: responseStatus")
        attendees.append({**attendee, "responseStatus": status})
    return attendees


def _check_reminders(value: Any) -> None:
    if not isinstance(value, dict):
        raise invalid("Invalid value for: reminders", location="reminders")
    overrides = value.get("overrides") or []
    if value.get("useDefault") and overrides:
        raise invalid("Cannot specify both default reminders and overrides at the same time.")
    if not isinstance(overrides, list) or len(overrides) > MAX_REMINDER_OVERRIDES:
        raise invalid("Too many reminders.")
    for override in overrides:
        if not isinstance(override, dict) or override.get("method") not in REMINDER_METHODS:
            raise invalid("Invalid reminder method.")
        minutes = override.get("minutes")
        if not isinstance(minutes, int) or not 0 <= minutes <= MAX_REMINDER_MINUTES:
            raise invalid("Invalid reminder minutes value.")


def _check_extended(value: Any) -> None:
    if not isinstance(value, dict) or set(value) - {"private", "shared"}:
        raise invalid("Invalid value for: extendedProperties")
    for properties in value.values():
        if not isinstance(properties, dict) or not all(
                isinstance(v, str) for v in properties.values()):
            raise invalid("Invalid value for: extendedProperties")


# -- listing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ListQuery:
    after: int  # the creation order of the last event already listed
    high_water: int
    since: int | None  # incremental: changes after this number
    time_min: float | None
    time_max: float | None
    show_deleted: bool


def list_page(calendar: Calendar, query: ListQuery, max_results: int
              ) -> tuple[list[StoredEvent], bool]:
    """One page of events and whether more follow."""
    found: list[StoredEvent] = []
    for stored in calendar.events.values():
        if stored.order <= query.after or stored.changed > query.high_water:
            continue
        if query.since is not None:
            # Incremental: every change, cancellations included, whatever the filters.
            if stored.changed <= query.since:
                continue
        else:
            if stored.cancelled and not query.show_deleted:
                continue
            if not _in_range(stored.resource, calendar.time_zone, query):
                continue
        found.append(stored)
        if len(found) > max_results:
            return found[:max_results], True
    return found, False


def _in_range(resource: dict[str, Any], zone: str, query: ListQuery) -> bool:
    # Google: events ending after timeMin and starting before timeMax.
    if query.time_min is not None and \
            _instant(resource["end"], zone).timestamp() <= query.time_min:
        return False
    return not (query.time_max is not None
                and _instant(resource["start"], zone).timestamp() >= query.time_max)


def list_item(stored: StoredEvent) -> dict[str, Any]:
    """An event as a list shows it; a cancelled one is reduced to what Google keeps."""
    resource = stored.resource
    if stored.cancelled:
        return {key: resource[key] for key in ("kind", "etag", "id", "status", "updated")
                if key in resource}
    return copy.deepcopy(resource)
