"""Our neutral types ↔ the Formitable v1.2 wire format (Zenchef's partner API).

Pure functions, no I/O. The platform's words (`bookingDateTime`,
`numberOfPeople`, `externalReferenceId`, `checkInDateTime`) stay here.
Facts, per ../shared/reference/restosync.md 1.2-1.3 (the Swagger client's
models, [V]erified unless marked):

- camelCase JSON; booking and restaurant ids are string uids, table and
  area ids integers (strings on our side, as ExternalMapping stores them);
- statuses CREATED (an option until `optionExpires`), ACCEPTED, CANCELLED,
  FAILED, EXPIRED. FAILED and EXPIRED bookings do not stand, so they are
  our `cancelled` (the raw value is kept). Seated and completed are not
  statuses but the check-in / check-out toggles: `checkInDateTime`, and
  `checkOutDateTime` [I: not in the public model; read when present];
- a PUT is partial: a property left out (or null) keeps its value, so a
  field cannot be cleared, and `status`, `externalReferenceId` and
  `productUid` cannot be changed by it;
- the booking has no fields for allergies, dietary restrictions, occasion
  or children: they travel in `comments`, one labelled line each, and are
  read back from it, so our own values do not come back as a changed note;
- there is no room or service on a booking: the area is the one its tables
  are in (inbound only); our offer is the ticket product (`productUid`,
  create only) [I: read back from `productUid` or the first ticket's uid];
- no "updated at" is documented [I: `updatedAt` or `updated` read when present].

A value we do not know (a new status, title or slot status) is logged,
kept as received and listed in `unknown_values`, never replaced by ours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime

from apps.restosync.types import (
    UNKNOWN,
    AvailabilitySlot,
    CustomerData,
    RemoteArea,
    RemoteReservation,
    RemoteTable,
    ReservationData,
    ReservationStatus,
    SlotStatus,
    UnknownValue,
)

logger = logging.getLogger(__name__)

Status = ReservationStatus

STATUSES: dict[str, ReservationStatus] = {
    "CREATED": Status.PENDING,
    "ACCEPTED": Status.CONFIRMED,
    "CANCELLED": Status.CANCELLED,
    "FAILED": Status.CANCELLED,
    "EXPIRED": Status.CANCELLED,
}
# Statuses under which the check-in and check-out toggles say more than the status.
STANDING = frozenset({"CREATED", "ACCEPTED"})
TITLES = frozenset({"MALE", "FEMALE", "FAMILY", "NONE"})
SLOT_STATUSES: dict[str, SlotStatus] = {
    "AVAILABLE": SlotStatus.AVAILABLE,
    "SHORT": SlotStatus.SHORT,
    "UNAVAILABLE": SlotStatus.UNAVAILABLE,
    "CLOSED": SlotStatus.CLOSED,
    "PASSED": SlotStatus.PASSED,
    # [V2] the public widget API adds these two.
    "WAITLIST": SlotStatus.UNAVAILABLE,
    "SOLD_OUT": SlotStatus.UNAVAILABLE,
}

# The labelled lines of `comments`. English on purpose, in every language:
# they are read back by this module, and a label translated differently
# for two managers would not be recognised.
ALLERGIES_LABEL = "Allergies: "
DIETARY_LABEL = "Dietary: "
OCCASION_LABEL = "Occasion: "
CHILDREN_LABEL = "Children: "
_LABELS = (ALLERGIES_LABEL, DIETARY_LABEL, OCCASION_LABEL, CHILDREN_LABEL)

# BookingUpdateViewModel: what a PUT may carry (tables apart).
UPDATABLE = ("bookingDateTime", "bookingDuration", "numberOfPeople", "firstName", "lastName",
             "telephone", "email", "comments")


# -- helpers ------------------------------------------------------------------------

def wire_datetime(moment: datetime, time_zone: str) -> str:
    """In the restaurant's zone with its offset ("2024-05-10T19:30:00+02:00")."""
    return moment.astimezone(ZoneInfo(time_zone)).isoformat(timespec="seconds")


def parse_wire_datetime(value: Any, time_zone: str) -> datetime | None:
    """Aware; a value without an offset is the restaurant's local time (the
    model says every date-time is "in the timezone of the restaurant")."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        logger.warning("zenchef: unreadable date-time %r", value)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(time_zone))


def split_name(name: str) -> tuple[str, str]:
    """"Jan de Vries" → ("Jan", "de Vries"); one word is a last name."""
    parts = name.strip().split(maxsplit=1)
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", parts[0] if parts else ""


def _join(values: Iterable[str]) -> str:
    return ", ".join(value.strip() for value in values if value and value.strip())


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def compose_comments(data: ReservationData) -> str:
    lines = [data.notes.strip()] if data.notes.strip() else []
    for label, value in ((ALLERGIES_LABEL, _join(data.customer.allergies)),
                         (DIETARY_LABEL, _join(data.dietary_restrictions)),
                         (OCCASION_LABEL, data.occasion.strip()),
                         (CHILDREN_LABEL, str(data.children) if data.children else "")):
        if value:
            lines.append(label + value)
    return "\n".join(lines)


def parse_comments(comments: str) -> dict[str, Any]:
    """Our labelled lines back out of `comments`; the rest is the note."""
    found: dict[str, str] = {}
    notes = []
    for line in comments.splitlines():
        label = next((label for label in _LABELS if line.startswith(label)), None)
        if label is None:
            notes.append(line)
        else:
            found[label] = line[len(label):].strip()
    children = found.get(CHILDREN_LABEL, "")
    return {
        "notes": "\n".join(notes).strip(),
        "allergies": _split(found.get(ALLERGIES_LABEL, "")),
        "dietary_restrictions": _split(found.get(DIETARY_LABEL, "")),
        "occasion": found.get(OCCASION_LABEL, ""),
        "children": int(children) if children.isdigit() else None,
    }


def table_ids(external_ids: Iterable[str]) -> list[int]:
    """Our mapped table ids as the platform's integers; a malformed one
    (a mapping from elsewhere) is left out and logged rather than sent."""
    ids = []
    for value in external_ids:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            logger.warning("zenchef: table id %r is not an integer; left out", value)
    return ids


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _known(field_name: str, raw: Any, known: Iterable[str], external_id: str
           ) -> UnknownValue | None:
    if raw is None or raw in known:
        return None
    logger.warning("zenchef: unknown %s %r on booking %s, flagged, not mapped",
                   field_name, raw, external_id)
    return UnknownValue(field=field_name, raw=str(raw))


# -- outbound -----------------------------------------------------------------------

def _wire_fields(data: ReservationData, time_zone: str) -> dict[str, Any]:
    """Every field of ours that a booking carries, in wire names."""
    first, last = split_name(data.customer.name)
    return {
        "bookingDateTime": wire_datetime(data.start, time_zone),
        "bookingDuration": data.duration_minutes,
        "numberOfPeople": data.party_size,
        "firstName": first or None,
        "lastName": last or None,
        "telephone": data.customer.phone or None,
        "email": data.customer.email or None,
        "comments": compose_comments(data) or None,
    }


def create_body(data: ReservationData, *, time_zone: str, culture: str | None = None
                ) -> dict[str, Any]:
    """BookingCreateViewModel. `externalReferenceId` is our reservation id,
    the key of the look-up that makes a retried create safe. Without mapped
    tables the platform places the party itself."""
    body: dict[str, Any] = {
        **_wire_fields(data, time_zone),
        # Required by the model; null asks for the restaurant's default.
        "culture": culture,
        "company": False,
        "externalReferenceId": data.reference,
    }
    tables = table_ids(data.table_external_ids)
    if tables:
        body["tables"] = tables
    if data.offer_external_id:
        body["productUid"] = data.offer_external_id
    return {key: value for key, value in body.items()
            if value is not None or key in ("bookingDuration", "culture")}


def update_body(data: ReservationData, *, previous: ReservationData | None, time_zone: str
                ) -> dict[str, Any]:
    """BookingUpdateViewModel with only what changed since `previous` (every
    updatable field when there is no previous state).

    A field we emptied is left out: the platform reads null as "keep", and
    an empty string is refused for some fields (e-mail). An empty table list
    is sent as [] ("place automatically") only when we had tables before.
    """
    current = _wire_fields(data, time_zone)
    before = _wire_fields(previous, time_zone) if previous is not None else {}
    body = {name: current[name] for name in UPDATABLE
            if current[name] is not None and (previous is None or current[name] != before[name])}
    tables = table_ids(data.table_external_ids)
    if previous is None:
        if tables:
            body["tables"] = tables
    elif tables != table_ids(previous.table_external_ids):
        body["tables"] = tables
    return body


def update_warnings(data: ReservationData, *, previous: ReservationData | None) -> list[str]:
    """What changed here that a PUT cannot carry."""
    if previous is not None and data.offer_external_id != previous.offer_external_id:
        return ["zenchef: the offer (productUid) cannot be changed after creation"]
    return []


# -- inbound ------------------------------------------------------------------------

def booking_from_wire(body: dict[str, Any], *, time_zone: str) -> RemoteReservation:
    """BookingViewModel → RemoteReservation."""
    external_id = _text(body.get("uid"))
    raw_status = body.get("status")
    unknown = [u for u in (
        _known("status", raw_status, STATUSES, external_id),
        _known("title", body.get("title"), TITLES, external_id),
    ) if u is not None]
    checked_in = parse_wire_datetime(body.get("checkInDateTime"), time_zone)
    checked_out = parse_wire_datetime(body.get("checkOutDateTime"), time_zone)
    if raw_status not in STATUSES:
        status = UNKNOWN
    elif raw_status in STANDING and checked_out is not None:
        status = Status.COMPLETED
    elif raw_status in STANDING and checked_in is not None:
        status = Status.SEATED
    else:
        status = STATUSES[raw_status]
    tables = [t for t in body.get("tables") or [] if isinstance(t, dict)]
    areas = {t.get("areaId") for t in tables if _int(t.get("areaId")) is not None}
    comments = parse_comments(_text(body.get("comments")))
    name = " ".join(part for part in (_text(body.get("firstName")),
                                      _text(body.get("lastName"))) if part)
    tickets = [t for t in body.get("tickets") or [] if isinstance(t, dict)]
    offer = _text(body.get("productUid")) or (_text(tickets[0].get("uid")) if tickets else "")
    return RemoteReservation(
        external_id=external_id,
        reference=_text(body.get("externalReferenceId")) or None,
        status=status,
        raw_status=_text(raw_status) if raw_status is not None else "",
        updated_at=parse_wire_datetime(body.get("updatedAt") or body.get("updated"), time_zone),
        created_at=parse_wire_datetime(body.get("created"), time_zone),
        start=parse_wire_datetime(body.get("bookingDateTime"), time_zone),
        duration_minutes=_int(body.get("bookingDuration")),
        party_size=_int(body.get("numberOfPeople")),
        customer=CustomerData(name=name, phone=_text(body.get("telephone")),
                              email=_text(body.get("email")), allergies=comments["allergies"]),
        notes=comments["notes"],
        source=_text(body.get("source")),
        checked_in_at=checked_in,
        checked_out_at=checked_out,
        offer_external_id=offer or None,
        # One area when all its tables are in one; none when they straddle two.
        area_external_id=str(areas.pop()) if len(areas) == 1 else None,
        table_external_ids=tuple(str(t["id"]) for t in tables if _int(t.get("id")) is not None),
        unknown_values=tuple(unknown),
        raw=body,
    )


def check_out_readable(body: dict[str, Any]) -> bool:
    """Whether this deployment shows the check-out toggle's state at all."""
    return "checkOutDateTime" in body


def warnings_from_wire(body: dict[str, Any]) -> tuple[str, ...]:
    """A PUT's `warnings` (table conflicts), however each one is shaped."""
    warnings = body.get("warnings") or []
    if not isinstance(warnings, list):
        warnings = [warnings]
    return tuple(_warning_text(w) for w in warnings)


def _warning_text(warning: Any) -> str:
    if isinstance(warning, dict):
        return str(warning.get("message") or warning)
    return str(warning)


def table_from_wire(body: dict[str, Any]) -> RemoteTable:
    area = _int(body.get("areaId"))
    return RemoteTable(external_id=str(body.get("id")), name=_text(body.get("name")),
                       min_people=_int(body.get("minPeople")),
                       max_people=_int(body.get("maxPeople")),
                       area_external_id=str(area) if area is not None else None,
                       pos_id=_text(body.get("posId")), priority=_int(body.get("priority")))


def area_from_wire(body: dict[str, Any]) -> RemoteArea:
    names = body.get("displayName") if isinstance(body.get("displayName"), dict) else {}
    return RemoteArea(external_id=str(body.get("id")), name=_text(body.get("name")),
                      display_names={str(k): str(v) for k, v in names.items()},
                      pos_id=_text(body.get("posId")), priority=_int(body.get("priority")))


def slot_from_wire(body: dict[str, Any], *, time_zone: str) -> AvailabilitySlot | None:
    """BookingTimePublic; None for one without a readable time."""
    start = parse_wire_datetime(body.get("time"), time_zone)
    if start is None:
        return None
    raw = _text(body.get("status"))
    status = SLOT_STATUSES.get(raw)
    if status is None:
        logger.warning("zenchef: unknown availability status %r, flagged, not mapped", raw)
    return AvailabilitySlot(start=start, status=status or UNKNOWN, raw_status=raw,
                            max_duration_minutes=_int(body.get("maxDuration")),
                            area_name=_text(body.get("area")))
