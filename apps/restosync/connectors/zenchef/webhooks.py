"""Zenchef's booking webhook: its shape and signature are NOT public.

Zenchef's help centre says there is one webhook per restaurant, fired when
a reservation is made or updated; nothing public says what it carries or
how it is signed (../shared/reference/restosync.md 0.3, 1.3 "Unknown",
1.5.6). Every part of it is therefore a setting, per config, in
`ConnectorConfig.options["webhook"]` (a dict of `WebhookFormat` fields),
over these defaults, which are the simulator's:

    X-Zenchef-Signature: <lowercase hex HMAC-SHA256 of the raw body, keyed
                          with the connection's webhook secret>
    X-Zenchef-Event-Id:  <the event's id, the same on every redelivery>
    {"eventId": "...", "event": "booking.created" | "booking.changed" |
     "booking.cancelled", "restaurantUid": "...", "occurredAt": "<ISO 8601>",
     "booking": <BookingViewModel>}

A thin event naming the booking only (`bookingUid`) is read with a GET by
the engine; a bare BookingViewModel with no envelope (`envelope: false`) is
read as an update, or a cancellation when its status says so. An event
name we do not know is kept as received and flagged (kind UNKNOWN), never
guessed. The inbox's channel takes its verifier from `verifier()`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from apps.core.channels import BodyHmac
from apps.restosync.connectors.zenchef.mapper import booking_from_wire, parse_wire_datetime
from apps.restosync.types import UNKNOWN, EventKind, PlatformEvent, ReservationStatus

logger = logging.getLogger(__name__)

DEFAULT_EVENT_TYPES: dict[str, str] = {
    "booking.created": EventKind.CREATED,
    "booking.changed": EventKind.UPDATED,
    "booking.updated": EventKind.UPDATED,
    "booking.accepted": EventKind.STATUS_CHANGED,
    "booking.checkin": EventKind.STATUS_CHANGED,
    "booking.checkout": EventKind.STATUS_CHANGED,
    "booking.cancelled": EventKind.CANCELLED,
    "booking.canceled": EventKind.CANCELLED,
}


@dataclass(frozen=True)
class WebhookFormat:
    signature_header: str = "X-Zenchef-Signature"
    signature_encoding: str = "hex"
    signature_prefix: str = ""
    event_id_header: str = "X-Zenchef-Event-Id"
    envelope: bool = True
    event_type_field: str = "event"
    event_id_field: str = "eventId"
    timestamp_field: str = "occurredAt"
    restaurant_field: str = "restaurantUid"
    booking_field: str = "booking"
    booking_uid_field: str = "bookingUid"
    # The platform's event names → EventKind values; merged over the defaults.
    event_types: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_EVENT_TYPES))

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> WebhookFormat:
        """From `options["webhook"]`; an unknown key is refused, not ignored,
        so a misspelt setting fails where it is written."""
        values = dict((options or {}).get("webhook") or {})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown Zenchef webhook setting(s): {', '.join(sorted(unknown))}")
        if "event_types" in values:
            values["event_types"] = {**DEFAULT_EVENT_TYPES, **values["event_types"]}
        return cls(**values)

    def verifier(self) -> BodyHmac:
        return BodyHmac(header=self.signature_header, prefix=self.signature_prefix,
                        encoding=self.signature_encoding)


def parse_event(payload: dict[str, Any], *, headers: Mapping[str, str], fmt: WebhookFormat,
                time_zone: str) -> PlatformEvent:
    headers = {name.lower(): value for name, value in headers.items()}
    event_id = headers.get(fmt.event_id_header.lower(), "") if fmt.event_id_header else ""
    if not fmt.envelope:
        reservation = booking_from_wire(payload, time_zone=time_zone)
        kind = (EventKind.CANCELLED if reservation.status == ReservationStatus.CANCELLED
                else EventKind.UPDATED)
        return PlatformEvent(kind=kind, raw_type="", external_id=reservation.external_id,
                             reservation=reservation, event_id=event_id)
    raw_type = str(payload.get(fmt.event_type_field) or "")
    kind = fmt.event_types.get(raw_type)
    if kind is None:
        logger.warning("zenchef: unknown webhook event %r, flagged, not mapped", raw_type)
    booking = payload.get(fmt.booking_field)
    reservation = booking_from_wire(booking, time_zone=time_zone) \
        if isinstance(booking, dict) else None
    external_id = reservation.external_id if reservation is not None \
        else str(payload.get(fmt.booking_uid_field) or "")
    return PlatformEvent(
        kind=kind or UNKNOWN,
        raw_type=raw_type,
        external_id=external_id,
        reservation=reservation,
        event_id=event_id or str(payload.get(fmt.event_id_field) or ""),
        occurred_at=parse_wire_datetime(payload.get(fmt.timestamp_field), time_zone),
        restaurant_uid=str(payload.get(fmt.restaurant_field) or ""),
    )
