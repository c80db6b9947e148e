"""The Zenchef (Formitable v1.2) connector: the engine's operations on the client.

Options (`ConnectorConfig.options`), all optional:
  external_source  the `{source}` of booking/external/{source}/{ref}; the
                   API does not say what it is for our key [I: the name of
                   the app the key belongs to]. Default: the setting
                   ZENCHEF_EXTERNAL_SOURCE ("workforce-hub"). A create
                   whose answer names another source is logged, so the
                   right value can be read off the audit trail.
  culture          two-letter language of bookings we create (null: the
                   restaurant's default, English)
  language         availability texts, "en" or "nl" (default "en")
  poll_days        days of future bookings the polling fallback reads,
                   1 to 62 (default 31: one call; 62 is two)
  webhook          the webhook's shape and signature (webhooks.WebhookFormat)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from apps.core.audit import LogContext
from apps.core.http import OutcomeUnknownError, PermanentError
from apps.restosync.connectors.base import (
    Capability,
    NotSupported,
    PlatformConnector,
    ToggleStateUnknown,
)
from apps.restosync.connectors.zenchef import mapper
from apps.restosync.connectors.zenchef.client import (
    MAX_LISTING_DAYS,
    PLATFORM,
    BookingNotFound,
    ZenchefClient,
    zenchef_client,
)
from apps.restosync.connectors.zenchef.webhooks import WebhookFormat, parse_event
from apps.restosync.types import (
    AuditScope,
    AvailabilitySlot,
    ChangedReservations,
    ConnectorConfig,
    PlatformEvent,
    RemoteArea,
    RemoteReservation,
    RemoteTable,
    ReservationData,
    SyncResult,
)

logger = logging.getLogger(__name__)

MAX_POLL_DAYS = 2 * MAX_LISTING_DAYS
# The seed's entity types, as the audit trail and the mappings name them.
RESERVATION = "reservation"
TABLE = "table"
DINING_ROOM = "dining_room"


class ZenchefConnector(PlatformConnector):
    platform: ClassVar[str] = PLATFORM
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)

    def __init__(self, config: ConnectorConfig, *, client: ZenchefClient | None = None) -> None:
        self.config = config
        self.time_zone = config.time_zone
        self.options: Mapping[str, Any] = config.options or {}
        self.client = client or zenchef_client(config)
        self.webhook_format = WebhookFormat.from_options(self.options)
        self.audit_scope = AuditScope()

    # -- helpers ------------------------------------------------------------------
    @property
    def external_source(self) -> str:
        return str(self.options.get("external_source") or settings.ZENCHEF_EXTERNAL_SOURCE)

    def _log(self, action: str, entity_id: str = "", data: ReservationData | None = None, *,
             entity_type: str = RESERVATION) -> LogContext:
        """The audit context: the engine's scope first (our reservation id, the
        operation), the guest's contact details scrubbed wherever they appear.
        `entity_id` is always OUR id (empty when unknown): the platform's is
        in the URL."""
        scope = self.audit_scope
        contact = (data.customer.phone, data.customer.email) if data is not None else ()
        return LogContext(action=f"zenchef.{action}", entity_type=entity_type,
                          entity_id=scope.entity_id or entity_id,
                          context=self.config.restaurant_uid, operation_id=scope.operation_id,
                          secrets=tuple(s for s in (*scope.secrets, *contact) if s))

    def _booking(self, body: dict[str, Any]) -> RemoteReservation:
        return mapper.booking_from_wire(body, time_zone=self.time_zone)

    # -- required -----------------------------------------------------------------
    def authenticate(self) -> None:
        """Zenchef has no token endpoint: reading the restaurant proves the key
        and the uid (401 or 404 is a PermanentError)."""
        self.client.get_restaurant(log=self._log("authenticate", entity_type=""))

    def create_reservation(self, data: ReservationData, *, reconcile: bool = False
                           ) -> SyncResult:
        """Create, with `externalReferenceId` = our id. A retry (`reconcile`,
        after a timeout or an unknown outcome) looks the booking up by our id
        first, so a lost answer never becomes a second booking."""
        if reconcile:
            existing = self.find_by_reference(data.reference)
            if existing is not None:
                logger.info("zenchef: reservation %s already exists as %s; not created again",
                            data.reference, existing.external_id)
                return SyncResult(external_id=existing.external_id, reservation=existing,
                                  existed=True)
        body = mapper.create_body(data, time_zone=self.time_zone,
                                  culture=self.options.get("culture"))
        created = self._booking(self.client.create_booking(
            body, log=self._log("booking.create", data.reference, data)))
        if not created.external_id:
            # Created or not, we cannot tell which booking it is: the retry's
            # look-up by our reference will.
            raise OutcomeUnknownError(f"{PLATFORM}: a create answered without a booking uid",
                                      platform=PLATFORM)
        if created.source and created.source != self.external_source:
            logger.warning("zenchef: bookings we create carry the source %r, but look-ups use "
                           "%r: set the config's external_source option to %r",
                           created.source, self.external_source, created.source)
        return SyncResult(external_id=created.external_id, reservation=created,
                          warnings=mapper.warnings_from_wire(created.raw))

    def update_reservation(self, external_id: str, data: ReservationData, *,
                           previous: ReservationData | None = None) -> SyncResult:
        """A partial PUT carrying only what changed since `previous`; no call
        at all when nothing the platform holds has changed."""
        warnings = mapper.update_warnings(data, previous=previous)
        for warning in warnings:
            logger.warning("%s (reservation %s)", warning, data.reference)
        body = mapper.update_body(data, previous=previous, time_zone=self.time_zone)
        if not body:
            return SyncResult(external_id=external_id, warnings=tuple(warnings))
        answer = self.client.update_booking(external_id, body,
                                            log=self._log("booking.update", data.reference, data))
        return SyncResult(external_id=external_id, reservation=self._booking(answer),
                          warnings=(*warnings, *mapper.warnings_from_wire(answer)))

    def cancel_reservation(self, external_id: str, *, reason: str = "") -> None:
        """DELETE. A refusal is checked against the booking: one already
        cancelled (a resend, or a cancel on the platform side) is done."""
        try:
            self.client.cancel_booking(external_id, log=self._log("booking.cancel"))
        except PermanentError as exc:
            if exc.status_code not in (400, 404, 409, 410):
                raise
            try:
                current = self.get_reservation(external_id)
            except BookingNotFound:
                raise exc from None
            if current.raw_status != "CANCELLED":
                raise
            logger.info("zenchef: booking %s was already cancelled", external_id)

    def get_availability(self, *, day: date, party_size: int,
                         offer_external_id: str | None = None) -> list[AvailabilitySlot]:
        rows = self.client.day_availability(
            day=day, party_size=party_size, language=str(self.options.get("language") or "en"),
            product_uid=offer_external_id, log=self._log("availability", entity_type=""))
        return [slot for slot in (mapper.slot_from_wire(row, time_zone=self.time_zone)
                                  for row in rows) if slot is not None]

    def sync_entity(self, entity_type: str, data: Any, *, external_id: str | None = None
                    ) -> SyncResult:
        """Reservations only: Zenchef's partner API takes no other entity."""
        if entity_type != RESERVATION or not isinstance(data, ReservationData):
            raise NotSupported(self.platform, f"sync of {entity_type}")
        if external_id:
            return self.update_reservation(external_id, data)
        return self.create_reservation(data, reconcile=True)

    def parse_webhook(self, *, headers: Mapping[str, str], payload: dict[str, Any]
                      ) -> PlatformEvent:
        return parse_event(payload, headers=headers, fmt=self.webhook_format,
                           time_zone=self.time_zone)

    # -- optional -----------------------------------------------------------------
    def get_reservation(self, external_id: str) -> RemoteReservation:
        return self._booking(self.client.get_booking(external_id,
                                                     log=self._log("booking.get")))

    def find_by_reference(self, reference: str) -> RemoteReservation | None:
        body = self.client.find_booking(source=self.external_source, reference=reference,
                                        log=self._log("booking.find", reference))
        return self._booking(body) if body is not None else None

    def list_changed(self, *, since: datetime | None = None,
                     lookback: timedelta = timedelta(0)) -> ChangedReservations:
        """The polling fallback: every booking from today on, `poll_days` ahead.

        Formitable lists no changes, only future bookings (from today, 31
        days a call), so `since` and `lookback` cannot narrow the read: the
        engine compares what it reads with what it holds. Past days cannot
        be listed at all.
        """
        days = int(self.options.get("poll_days") or MAX_LISTING_DAYS)
        if not 1 <= days <= MAX_POLL_DAYS:
            raise ValueError(f"poll_days must be 1 to {MAX_POLL_DAYS}, not {days}")
        today = timezone.now().astimezone(ZoneInfo(self.time_zone)).date()
        bookings: dict[str, RemoteReservation] = {}
        start = today
        while start < today + timedelta(days=days):
            chunk = min(MAX_LISTING_DAYS, (today + timedelta(days=days) - start).days)
            for row in self.client.future_bookings(start=start, days=chunk,
                                                   log=self._log("booking.list")):
                booking = self._booking(row)
                if booking.external_id:
                    bookings[booking.external_id] = booking
            start += timedelta(days=chunk)
        return ChangedReservations(reservations=tuple(bookings.values()), window_start=today,
                                   window_end=today + timedelta(days=days - 1))

    def check_in(self, external_id: str, *, reconcile: bool = False) -> RemoteReservation:
        """Seated: the check-in toggle, called only if the booking is not
        checked in already (a second call would undo it). `checkInDateTime`
        is always shown, so a retry (`reconcile`) reads the same way."""
        current = self.get_reservation(external_id)
        if current.checked_in_at is not None:
            return current
        return self._toggle(external_id, Capability.CHECK_IN, reference=current.reference)

    def check_out(self, external_id: str, *, reconcile: bool = False) -> RemoteReservation:
        """Completed: checked in first if need be, then the check-out toggle,
        only if the booking is not checked out already.

        The public model shows no check-out state [I: `checkOutDateTime`,
        read when present]. Where it is absent, a retry after an unknown
        outcome (`reconcile`) cannot tell whether the first call took
        effect, so it raises ToggleStateUnknown rather than risk undoing it.
        """
        current = self.get_reservation(external_id)
        if current.checked_out_at is not None:
            return current
        if not mapper.check_out_readable(current.raw) and reconcile:
            raise ToggleStateUnknown(
                gettext("Zenchef does not show whether booking %(booking)s was checked out, "
                        "and the last check-out may have reached it: check it on Zenchef.")
                % {"booking": external_id}, platform=self.platform)
        if current.checked_in_at is None:
            self._toggle(external_id, Capability.CHECK_IN, reference=current.reference)
        return self._toggle(external_id, Capability.CHECK_OUT, reference=current.reference)

    def _toggle(self, external_id: str, capability: Capability, *, reference: str | None
                ) -> RemoteReservation:
        call = (self.client.toggle_check_in if capability == Capability.CHECK_IN
                else self.client.toggle_check_out)
        after = self._booking(call(external_id, log=self._log(
            f"booking.{capability.value.replace('_', '')}", reference or "")))
        done = after.checked_in_at if capability == Capability.CHECK_IN else after.checked_out_at
        if done is None and (capability == Capability.CHECK_IN
                             or mapper.check_out_readable(after.raw)):
            # Someone toggled it between our read and our call, so ours undid
            # theirs: calling again could go on undoing each other.
            raise ToggleStateUnknown(
                gettext("Booking %(booking)s was toggled on Zenchef at the same time as our "
                        "%(action)s: check it on Zenchef.")
                % {"booking": external_id, "action": capability.value.replace("_", "-")},
                platform=self.platform)
        return after

    def list_tables(self) -> list[RemoteTable]:
        return [mapper.table_from_wire(row)
                for row in self.client.tables(log=self._log("tables", entity_type=TABLE))]

    def list_areas(self) -> list[RemoteArea]:
        return [mapper.area_from_wire(row) for row in self.client.areas(
            log=self._log("areas", entity_type=DINING_ROOM))]


def connector_factory(config: ConnectorConfig) -> ZenchefConnector:
    return ZenchefConnector(config)

