"""What the sync engine and the platform connectors hand each other.

Plain frozen dataclasses in our words, with no Django model behind them:
a connector maps them to and from its platform's wire format
(`connectors/<platform>/mapper.py`) and never sees a model; the engine
builds them from our models (`selectors.reservation_data`) and applies them
back. External ids are strings here whatever the platform's type (Zenchef's
table and area ids are integers on the wire), because the core
`ExternalMapping` stores them as strings.

A platform value we do not know (a status added one day) is never turned
into one of ours: it is kept as received and listed in `unknown_values`, so
the engine can flag it for a manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.core.models import Connection


class ReservationStatus(StrEnum):
    """Our reservation statuses (Reservation.status holds the same values)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    SEATED = "seated"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# The status of a remote reservation whose platform status we cannot map.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class UnknownValue:
    """A platform enum value we do not know, kept as received."""

    field: str
    raw: str


@dataclass(frozen=True)
class CustomerData:
    name: str = ""
    phone: str = ""
    email: str = ""
    allergies: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReservationData:
    """Our side of a reservation, as sent to a platform.

    `reference` is our reservation id (Zenchef's `externalReferenceId`).
    The `*_external_id(s)` fields hold the PLATFORM's ids, resolved from our
    service, offer, room and tables through the mappings; None (or empty)
    when there is no mapping, and the field is then left out of the request.
    """

    reference: str
    party_size: int
    start: datetime  # aware
    status: ReservationStatus = ReservationStatus.PENDING
    adults: int | None = None
    children: int | None = None
    duration_minutes: int | None = None
    customer: CustomerData = field(default_factory=CustomerData)
    notes: str = ""
    dietary_restrictions: tuple[str, ...] = ()
    occasion: str = ""
    service_external_id: str | None = None
    offer_external_id: str | None = None
    area_external_id: str | None = None
    table_external_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("ReservationData.start must be an aware datetime")


@dataclass(frozen=True)
class RemoteReservation:
    """A platform's booking as read (a response, a listing, a webhook).

    `status` is one of ours (ReservationStatus) or UNKNOWN, `raw_status` what
    the platform said. Fields the platform did not send are None (or empty),
    so an update applies only what it knows.
    """

    external_id: str
    reference: str | None = None  # our reservation id, when we created it
    status: str = UNKNOWN
    raw_status: str = ""
    updated_at: datetime | None = None
    created_at: datetime | None = None
    start: datetime | None = None
    duration_minutes: int | None = None
    party_size: int | None = None
    customer: CustomerData = field(default_factory=CustomerData)
    notes: str = ""
    source: str = ""
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    service_external_id: str | None = None
    offer_external_id: str | None = None
    area_external_id: str | None = None
    table_external_ids: tuple[str, ...] = ()
    unknown_values: tuple[UnknownValue, ...] = ()
    # The payload as received, for the audit trail and the conflict diff.
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def status_known(self) -> bool:
        return self.status != UNKNOWN


@dataclass(frozen=True)
class RemoteTable:
    external_id: str
    name: str
    min_people: int | None = None
    max_people: int | None = None
    area_external_id: str | None = None
    pos_id: str = ""
    priority: int | None = None


@dataclass(frozen=True)
class RemoteArea:
    external_id: str
    name: str
    display_names: dict[str, str] = field(default_factory=dict, compare=False)
    pos_id: str = ""
    priority: int | None = None


class SlotStatus(StrEnum):
    AVAILABLE = "available"
    # Available, but for less than the service's usual duration.
    SHORT = "short"
    UNAVAILABLE = "unavailable"
    CLOSED = "closed"
    PASSED = "passed"


@dataclass(frozen=True)
class AvailabilitySlot:
    start: datetime  # aware
    status: str  # a SlotStatus value, or UNKNOWN (raw_status keeps the platform's)
    raw_status: str = ""
    max_duration_minutes: int | None = None
    area_name: str = ""

    @property
    def bookable(self) -> bool:
        return self.status in (SlotStatus.AVAILABLE, SlotStatus.SHORT)


class EventKind(StrEnum):
    """What a platform event says happened to a booking."""

    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    STATUS_CHANGED = "status_changed"


@dataclass(frozen=True)
class PlatformEvent:
    """A webhook, parsed. `reservation` is None for a thin event that only
    names the booking (the engine then reads it with `get_reservation`)."""

    kind: str  # an EventKind value, or UNKNOWN (raw_type keeps the platform's)
    raw_type: str
    external_id: str
    reservation: RemoteReservation | None = None
    event_id: str = ""
    occurred_at: datetime | None = None
    restaurant_uid: str = ""


@dataclass(frozen=True)
class SyncResult:
    """What a create or update left on the platform."""

    external_id: str
    reservation: RemoteReservation | None = None
    # True when a create found the booking already there (a retried create).
    existed: bool = False
    # Table conflicts and the like, as the platform words them.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangedReservations:
    """A page of the polling fallback: the bookings read, and what was covered."""

    reservations: tuple[RemoteReservation, ...]
    window_start: date
    window_end: date


@dataclass(frozen=True)
class AuditScope:
    """What the engine tells a connector about the exchanges it is about to
    make, for the audit trail: our reservation id, the outbox operation, and
    values to scrub wherever they appear (a guest's phone and e-mail)."""

    entity_id: str = ""
    operation_id: int | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ConnectorConfig:
    """What a connector needs from a SyncPlatformConfig, without the model.

    `base_url` overrides the platform's URL for this config (the connection's
    own base URL, when set, still wins, as everywhere in the core);
    `options` holds the connector's settings (Zenchef: the external source
    name, the webhook format), documented by each connector.
    """

    platform: str
    restaurant_uid: str
    connection: Connection
    base_url: str = ""
    time_zone: str = "Europe/Brussels"
    options: dict[str, Any] = field(default_factory=dict, compare=False)
