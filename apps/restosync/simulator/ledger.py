"""What happens to bookings: create, partial update, cancel, the check-in/out toggles.

The same rules serve the partner API (api.py) and the "as a guest" or "as
the restaurant" control endpoints, so a booking made for a demo is exactly
what the API would have made. Callers hold the simulator's lock.

Inferred where the reference is silent:
  a second create with the same `externalReferenceId` is accepted and makes
      a second booking: nothing public says Formitable refuses it, and a hub
      that retries a create blindly must be caught doing so;
  cancelling a cancelled booking succeeds again and changes nothing;
  a PUT, check-in or check-out on a booking that is no longer CREATED or
      ACCEPTED is refused 400;
  an option (`CREATED` with `optionExpires`) turns EXPIRED once that time has
      passed on the simulator's clock.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass
from typing import Any

from .store import (
    ACCEPTED,
    ACTIVE,
    ATTRIBUTES,
    CANCELLED,
    CREATED,
    DEFAULT_CULTURE,
    EXPIRED,
    REQUIRED_ON_CREATE,
    UPDATABLE,
    Booking,
    BookingError,
    Reader,
    Restaurant,
    free_tables,
    place,
    read_guest_fields,
)


@dataclass
class Change:
    """One booking change: what the caller answers and what a webhook reports."""

    booking: Booking
    kind: str  # created | changed | cancelled
    fields: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class Ledger:
    def __init__(self, rng: random.Random) -> None:
        self.random = rng
        self.bookings: dict[str, Booking] = {}
        self._numbers = itertools.count(1)

    def clear(self) -> None:
        self.bookings.clear()

    def of(self, restaurant: Restaurant) -> list[Booking]:
        return [b for b in self.bookings.values() if b.restaurant_uid == restaurant.uid]

    def get(self, restaurant: Restaurant, uid: str) -> Booking | None:
        booking = self.bookings.get(uid)
        return booking if booking and booking.restaurant_uid == restaurant.uid else None

    def find_external(self, restaurant: Restaurant, source: str,
                      reference: str) -> Booking | None:
        """The latest booking with this source and reference (sources compare case-blind)."""
        found = [b for b in self.of(restaurant)
                 if b.external_reference_id == reference
                 and (b.source or "").casefold() == source.casefold()]
        return max(found, key=lambda b: b.created) if found else None

    def future(self, restaurant: Restaurant, first: dt.date, days: int) -> list[Booking]:
        last = first + dt.timedelta(days=days)
        zone = restaurant.zone
        return sorted((b for b in self.of(restaurant)
                       if first <= b.booking_date_time.astimezone(zone).date() < last),
                      key=lambda b: (b.booking_date_time, b.created))

    # -- writes -------------------------------------------------------------------
    def create(self, restaurant: Restaurant, body: dict[str, Any], *, source: str,
               now: dt.datetime, status: str = ACCEPTED,
               option_minutes: int | None = None) -> Change:
        reader = Reader(body, restaurant)
        for name in REQUIRED_ON_CREATE:
            if name not in body:
                reader.fail(name, f"The {name} field is required.")
        values = read_guest_fields(reader)
        for name in ("bookingDateTime", "numberOfPeople"):  # null is no answer for these
            if name not in values and name not in reader.errors:
                reader.fail(name, f"The {name} field is required.")
        tables = reader.table_ids()
        force = bool(reader.boolean("forceTablePlacement"))
        walk_in = bool(reader.boolean("walkIn"))
        reference = reader.text("externalReferenceId", 100)
        pos_id = reader.text("posId", 100)
        product_uid = reader.text("productUid", 100)
        if product_uid is not None and product_uid not in restaurant.products:
            reader.fail("productUid", f"Unknown product {product_uid}.")
        reader.check()
        default_product = restaurant.default_product()
        booking = Booking(
            uid=self._new_uid(),
            restaurant_uid=restaurant.uid,
            created=now,
            booking_date_time=values["bookingDateTime"],
            booking_duration=values.get("bookingDuration") or restaurant.default_duration,
            number_of_people=values["numberOfPeople"],
            culture=values.get("culture") or DEFAULT_CULTURE,
            company=bool(values.get("company")),
            source=source,
            status=status,
            external_reference_id=reference,
            product_uid=product_uid or (default_product.uid if default_product else None),
            walk_in=walk_in,
            pos_id=pos_id,
        )
        if status == CREATED and option_minutes:
            booking.option_expires = now + dt.timedelta(minutes=option_minutes)
        self._assign(booking, values, exclude=("bookingDateTime", "bookingDuration",
                                               "numberOfPeople", "culture", "company"))
        warnings = self._seat(restaurant, booking, tables, force=force)
        booking.log("CREATED", now)
        self.bookings[booking.uid] = booking
        return Change(booking, "created", warnings=tuple(warnings))

    def update(self, restaurant: Restaurant, booking: Booking, body: dict[str, Any], *,
               now: dt.datetime, allow_status: bool = False) -> Change:
        """A partial update: only the fields sent with a value change.

        `allow_status` is for the restaurant's own changes (control API): the
        partner API cannot set a status, and any string is taken as is there
        so tests can send a value the hub does not know.
        """
        reader = Reader({k: v for k, v in body.items() if k in UPDATABLE}, restaurant)
        values = read_guest_fields(reader)
        tables = reader.table_ids()
        status = body.get("status") if allow_status else None
        if status is not None and not (isinstance(status, str) and status):
            reader.fail("status", "The field status must be a non-empty string.")
        reader.check()
        if booking.status not in ACTIVE and status is None:
            raise BookingError({}, f"Booking {booking.uid} is {booking.status} and can no "
                                   "longer be changed.")
        changed = [name for name, value in values.items()
                   if getattr(booking, ATTRIBUTES[name]) != value]
        self._assign(booking, values)
        warnings: list[str] = []
        moved = {"bookingDateTime", "bookingDuration", "numberOfPeople"} & set(changed)
        if tables is not None or moved:
            before = list(booking.tables)
            # An empty list asks for automatic placement; a move keeps the
            # tables when they are still free, as a host would.
            wanted = tables if tables else (None if tables == [] else before)
            warnings = self._seat(restaurant, booking, wanted, force=tables is not None)
            if booking.tables != before:
                changed.append("tables")
        if status is not None and status != booking.status:
            booking.status = status
            changed.append("status")
        if changed:
            booking.log("CHANGED", now)
        return Change(booking, "changed", tuple(changed), tuple(warnings))

    def cancel(self, booking: Booking, *, now: dt.datetime) -> Change | None:
        """None when the booking was already cancelled (nothing happened)."""
        if booking.status == CANCELLED:
            return None
        booking.status = CANCELLED
        booking.log("CANCELLED", now)
        return Change(booking, "cancelled", ("status",))

    def toggle_check_in(self, booking: Booking, *, now: dt.datetime) -> Change:
        self._require_active(booking)
        booking.check_in_date_time = None if booking.check_in_date_time else now
        booking.log("CHECKED_IN" if booking.check_in_date_time else "CHECK_IN_UNDONE", now)
        return Change(booking, "changed", ("checkInDateTime",))

    def toggle_check_out(self, booking: Booking, *, now: dt.datetime) -> Change:
        self._require_active(booking)
        booking.check_out_date_time = None if booking.check_out_date_time else now
        booking.log("CHECKED_OUT" if booking.check_out_date_time else "CHECK_OUT_UNDONE", now)
        return Change(booking, "changed", ("checkOutDateTime",))

    def expire_options(self, now: dt.datetime) -> list[Change]:
        changes = []
        for booking in self.bookings.values():
            if booking.status == CREATED and booking.option_expires and (
                booking.option_expires <= now
            ):
                booking.status = EXPIRED
                booking.log("EXPIRED", booking.option_expires)
                changes.append(Change(booking, "changed", ("status",)))
        return changes

    # -- helpers ------------------------------------------------------------------
    def _new_uid(self) -> str:
        while True:
            uid = f"{self.random.getrandbits(64):016x}"
            if uid not in self.bookings:
                return uid

    @staticmethod
    def _assign(booking: Booking, values: dict[str, Any], exclude: tuple[str, ...] = ()) -> None:
        for name, value in values.items():
            if name not in exclude:
                setattr(booking, ATTRIBUTES[name], value)

    @staticmethod
    def _require_active(booking: Booking) -> None:
        if booking.status not in ACTIVE:
            raise BookingError({}, f"Booking {booking.uid} is {booking.status}.")

    def _seat(self, restaurant: Restaurant, booking: Booking, wanted: list[int] | None, *,
              force: bool) -> list[str]:
        free = free_tables(restaurant, list(self.bookings.values()), booking.booking_date_time,
                           booking.ends_at, ignore=booking.uid)
        if wanted:
            taken = [t for t in wanted if t not in free]
            if not taken:
                booking.tables = list(wanted)
                return []
            names = ", ".join(str(t) for t in taken)
            if force:
                booking.tables = list(wanted)
                return [f"Table(s) {names} are already booked at this time."]
            booking.tables = place(restaurant, free, booking.number_of_people)
            return [f"Table(s) {names} are not available; the booking was placed "
                    "automatically."]
        booking.tables = place(restaurant, free, booking.number_of_people)
        return [] if booking.tables else ["No table is available for this booking."]
