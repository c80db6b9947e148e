"""What managers, the API and (later) the sync engine do with a restaurant's data.

Keyword-only functions that write and return what they saved; nothing here
talks HTTP. A reservation's every change goes through `reservation_create`
or `reservation_update`, which bump its version: that is where a change is
handed to the platforms.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext

from apps.core.connections import (
    connection_create,
    connection_set_credentials,
    connection_update,
)
from apps.core.errors import ServiceError
from apps.core.models import Connection, Credentials
from apps.restosync import operations
from apps.restosync.models import (
    RESTAURANT_TENANT,
    RESTAURANT_UID,
    SYNC_ENTITIES,
    Customer,
    DiningRoom,
    DiningService,
    DiningTable,
    Offer,
    Reservation,
    Restaurant,
    SyncPlatformConfig,
)
from apps.restosync.validators import normalise_email, normalise_phone, validate_phone

VALIDATION_ERROR = "validation_error"
# Named codes of the reservation rules, so a client can tell them apart.
SERVICE_CLOSED = "service_closed"
PARTY_TOO_LARGE = "party_too_large"
FOREIGN_OBJECT = "other_restaurant"
NAIVE_TIME = "naive_time"
VERSION_CONFLICT = "version_conflict"
IN_USE = "in_use"
DUPLICATE_CONFIG = "duplicate_config"

Status = Reservation.Status
# Where a reservation may go from each status. A cancelled, completed or
# no-show reservation is over: another booking is made instead.
TRANSITIONS = {
    Status.PENDING: {Status.CONFIRMED, Status.SEATED, Status.CANCELLED, Status.NO_SHOW},
    Status.CONFIRMED: {Status.PENDING, Status.SEATED, Status.CANCELLED, Status.NO_SHOW},
    Status.SEATED: {Status.COMPLETED, Status.CONFIRMED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
    Status.NO_SHOW: set(),
}
# Named after the state that forbids the change.
STATE_CODES = {Status.COMPLETED: "reservation_completed",
               Status.CANCELLED: "reservation_cancelled",
               Status.NO_SHOW: "reservation_no_show",
               Status.SEATED: "reservation_seated"}


# -- errors ------------------------------------------------------------------------

class Problems:
    """Field errors collected over every rule, raised together: a request
    learns all that is wrong with it in one answer. `field_codes` holds each
    message's code, in the same order as `details`."""

    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}
        self.field_codes: dict[str, list[str]] = {}
        self.codes: list[str] = []

    def add(self, field: str, message: str, code: str = VALIDATION_ERROR) -> None:
        self.details.setdefault(field, []).append(str(message))
        self.field_codes.setdefault(field, []).append(code)
        self.codes.append(code)

    def add_validation_error(self, exc: ValidationError) -> None:
        for field, messages in exc.message_dict.items():
            for message in messages:
                self.add(field, message)

    def extend(self, other: Problems) -> None:
        for field, messages in other.details.items():
            for message, code in zip(messages, other.field_codes[field], strict=True):
                self.add(field, message, code)

    def raise_if_any(self) -> None:
        if not self.details:
            return
        codes = set(self.codes)
        code = codes.pop() if len(codes) == 1 else VALIDATION_ERROR
        message = " ".join(m for messages in self.details.values() for m in messages)
        raise ServiceError(code, message, details=self.details)


def _full_clean(obj: models.Model, *, exclude: Iterable[str] = ()) -> None:
    problems = Problems()
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        problems.add_validation_error(exc)
    problems.raise_if_any()


def _apply(obj: models.Model, changes: dict[str, Any]) -> list[str]:
    """Set the changed fields; the names of those that really changed."""
    changed = []
    for name, value in changes.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _refuse_in_use(obj: models.Model, what: str) -> None:
    if obj.reservations.exists():
        raise ServiceError(IN_USE, gettext(
            "Reservations refer to this %(what)s; deactivate it instead.") % {"what": what},
            status=409)


def _check_same_restaurant(problems: Problems, restaurant: Restaurant, field: str,
                           objects: Iterable[models.Model | None]) -> None:
    for obj in objects:
        if obj is not None and obj.restaurant_id != restaurant.pk:
            problems.add(field, gettext("%(object)s belongs to another restaurant.") % {
                "object": obj}, FOREIGN_OBJECT)


def _locked(model: type[models.Model], pk: int) -> Any:
    return model.objects.select_for_update().get(pk=pk)


# -- restaurants -------------------------------------------------------------------

def restaurant_create(*, name: str, time_zone: str = "Europe/Brussels") -> Restaurant:
    restaurant = Restaurant(name=name, time_zone=time_zone)
    _full_clean(restaurant)
    restaurant.save()
    return restaurant


@transaction.atomic
def restaurant_update(*, restaurant: Restaurant, **changes: Any) -> Restaurant:
    restaurant = _locked(Restaurant, restaurant.pk)
    changed = _apply(restaurant, changes)
    if changed:
        _full_clean(restaurant)
        restaurant.save(update_fields=changed)
    return restaurant


def restaurant_delete(*, restaurant: Restaurant) -> None:
    if restaurant.reservations.exists() or restaurant.platform_configs.exists():
        raise ServiceError(IN_USE, gettext(
            "This restaurant has reservations or platform configurations; it cannot be "
            "deleted."), status=409)
    restaurant.delete()


# -- rooms, tables, services, offers -------------------------------------------------

def room_create(*, restaurant: Restaurant, name: str, capacity: int | None = None,
                is_active: bool = True) -> DiningRoom:
    room = DiningRoom(restaurant=restaurant, name=name, capacity=capacity, is_active=is_active)
    _full_clean(room)
    room.save()
    return room


@transaction.atomic
def room_update(*, room: DiningRoom, **changes: Any) -> DiningRoom:
    room = _locked(DiningRoom, room.pk)
    if "restaurant" in changes and changes["restaurant"].pk != room.restaurant_id:
        _refuse_in_use(room, gettext("room"))
    changed = _apply(room, changes)
    if changed:
        _full_clean(room)
        room.save(update_fields=changed)
    return room


@transaction.atomic
def room_delete(*, room: DiningRoom) -> None:
    _refuse_in_use(room, gettext("room"))
    room.delete()


def table_check(table: DiningTable) -> None:
    """Refuse (ServiceError, by field) what saving this table would refuse; writes
    nothing. The admin's form asks it before it saves."""
    problems = Problems()
    try:
        table.full_clean()
    except ValidationError as exc:
        problems.add_validation_error(exc)
    if table.max_covers and table.min_covers and table.max_covers < table.min_covers:
        problems.add("max_covers", gettext("The maximum is below the minimum."))
    if table.restaurant_id:
        _check_same_restaurant(problems, table.restaurant, "room", [table.room])
    problems.raise_if_any()


def table_create(*, restaurant: Restaurant, name: str, room: DiningRoom | None = None,
                 min_covers: int = 1, max_covers: int = 2,
                 is_active: bool = True) -> DiningTable:
    table = DiningTable(restaurant=restaurant, name=name, room=room, min_covers=min_covers,
                        max_covers=max_covers, is_active=is_active)
    table_check(table)
    table.save()
    return table


@transaction.atomic
def table_update(*, table: DiningTable, **changes: Any) -> DiningTable:
    table = _locked(DiningTable, table.pk)
    if "restaurant" in changes and changes["restaurant"].pk != table.restaurant_id:
        _refuse_in_use(table, gettext("table"))
    changed = _apply(table, changes)
    if changed:
        table_check(table)
        table.save(update_fields=changed)
    return table


@transaction.atomic
def table_delete(*, table: DiningTable) -> None:
    _refuse_in_use(table, gettext("table"))
    table.delete()


def service_check(service: DiningService, rooms: Iterable[DiningRoom]) -> None:
    """Refuse (ServiceError, by field) what saving this service with these rooms
    would refuse; writes nothing."""
    problems = Problems()
    try:
        service.full_clean()
    except ValidationError as exc:
        problems.add_validation_error(exc)
    if service.start_time and service.end_time:
        if service.end_time <= service.start_time:
            problems.add("end_time", gettext("The service must end after it starts."))
        last = service.last_seating_time
        if last is not None and not service.start_time <= last <= service.end_time:
            problems.add("last_seating_time",
                         gettext("The last seating is between the start and the end."))
    if service.requires_prepayment and service.prepayment_amount is None:
        problems.add("prepayment_amount", gettext("Give the prepayment amount."))
    if service.restaurant_id:
        _check_same_restaurant(problems, service.restaurant, "rooms", rooms)
    problems.raise_if_any()


@transaction.atomic
def service_create(*, restaurant: Restaurant, name: str, days: list[int], start_time: time,
                   end_time: time, rooms: Iterable[DiningRoom] = (),
                   **fields: Any) -> DiningService:
    """`fields`: the service's other model fields (kind, max_covers, ...)."""
    rooms = list(rooms)
    service = DiningService(restaurant=restaurant, name=name, days=days, start_time=start_time,
                            end_time=end_time, **fields)
    service_check(service, rooms)
    service.save()
    service.rooms.set(rooms)
    return service


@transaction.atomic
def service_update(*, service: DiningService, rooms: Iterable[DiningRoom] | None = None,
                   **changes: Any) -> DiningService:
    service = _locked(DiningService, service.pk)
    if "restaurant" in changes and changes["restaurant"].pk != service.restaurant_id:
        _refuse_in_use(service, gettext("service"))
    changed = _apply(service, changes)
    rooms = list(service.rooms.all()) if rooms is None else list(rooms)
    service_check(service, rooms)
    if changed:
        service.save(update_fields=changed)
    service.rooms.set(rooms)
    return service


@transaction.atomic
def service_delete(*, service: DiningService) -> None:
    _refuse_in_use(service, gettext("service"))
    service.delete()


def offer_check(offer: Offer) -> None:
    """Refuse (ServiceError, by field) what saving this offer would refuse; writes nothing."""
    problems = Problems()
    try:
        offer.full_clean()
    except ValidationError as exc:
        problems.add_validation_error(exc)
    if offer.start_date and offer.end_date and offer.end_date < offer.start_date:
        problems.add("end_date", gettext("The offer ends before it starts."))
    if (offer.min_party_size and offer.max_party_size
            and offer.max_party_size < offer.min_party_size):
        problems.add("max_party_size", gettext("The maximum is below the minimum."))
    if offer.has_prepayment and offer.prepayment_amount is None:
        problems.add("prepayment_amount", gettext("Give the prepayment amount."))
    problems.raise_if_any()


def offer_create(*, restaurant: Restaurant, name: str, **fields: Any) -> Offer:
    offer = Offer(restaurant=restaurant, name=name, **fields)
    offer_check(offer)
    offer.save()
    return offer


@transaction.atomic
def offer_update(*, offer: Offer, **changes: Any) -> Offer:
    offer = _locked(Offer, offer.pk)
    if "restaurant" in changes and changes["restaurant"].pk != offer.restaurant_id:
        _refuse_in_use(offer, gettext("offer"))
    changed = _apply(offer, changes)
    if changed:
        offer_check(offer)
        offer.save(update_fields=changed)
    return offer


@transaction.atomic
def offer_delete(*, offer: Offer) -> None:
    _refuse_in_use(offer, gettext("offer"))
    offer.delete()


# -- customers ---------------------------------------------------------------------

def customer_upsert(*, restaurant: Restaurant, name: str, phone: str = "", email: str = "",
                    allergies: Iterable[str] | None = None) -> Customer:
    """The restaurant's customer with this phone (else e-mail), created or brought up to
    date; allergies given are added to those known (never forgotten)."""
    phone, email = normalise_phone(phone), normalise_email(email)
    customer = None
    if phone:
        customer = Customer.objects.filter(
            restaurant=restaurant, phone_index=Customer.phone_index_for(phone)).first()
    if customer is None and email:
        customer = Customer.objects.filter(
            restaurant=restaurant, email_index=Customer.email_index_for(email)).first()
    known = list(customer.allergies) if customer else []
    merged = known + [a for a in (allergies or []) if a not in known]
    if customer is None:
        customer = Customer(restaurant=restaurant, name=name, phone=phone, email=email,
                            allergies=merged)
        _full_clean(customer, exclude=["phone_index", "email_index"])
        customer.save()
        return customer
    changes = {"name": name or customer.name, "allergies": merged}
    if phone:
        changes["phone"] = phone
    if email:
        changes["email"] = email
    changed = _apply(customer, changes)
    if changed:
        _full_clean(customer, exclude=["phone_index", "email_index"])
        customer.save(update_fields=changed)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **changes: Any) -> Customer:
    customer = _locked(Customer, customer.pk)
    if "phone" in changes:
        changes["phone"] = normalise_phone(changes["phone"])
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"])
    changed = _apply(customer, changes)
    if changed:
        _full_clean(customer, exclude=["phone_index", "email_index"])
        customer.save(update_fields=changed)
    return customer


# -- reservations --------------------------------------------------------------------

def service_for_time(*, restaurant: Restaurant, moment: datetime) -> DiningService | None:
    """The active service this moment falls in (from its start to its last seating)."""
    local = timezone.localtime(moment, ZoneInfo(restaurant.time_zone))
    for service in restaurant.services.filter(is_active=True).order_by("start_time", "pk"):
        if _service_takes(service, local):
            return service
    return None


def _service_takes(service: DiningService, local: datetime) -> bool:
    last = service.last_seating_time or service.end_time
    return local.isoweekday() in service.days and service.start_time <= local.time() <= last


def _offer_valid_on(offer: Offer, day: date) -> bool:
    if offer.is_permanent:
        return True
    return ((offer.start_date is None or offer.start_date <= day)
            and (offer.end_date is None or day <= offer.end_date))


def reservation_problems(*, restaurant: Restaurant, values: dict[str, Any],
                         tables: list[DiningTable] | None) -> Problems:
    """Every rule a reservation with these values breaks; writes nothing.

    `values` are the reservation's fields after the change. A restaurant that
    defines no service takes reservations at any time.
    """
    problems = Problems()
    moment = values.get("reservation_time")
    party = values.get("party_size")
    service, offer, room = values.get("service"), values.get("offer"), values.get("dining_room")
    _check_same_restaurant(problems, restaurant, "service", [service])
    _check_same_restaurant(problems, restaurant, "offer", [offer])
    _check_same_restaurant(problems, restaurant, "dining_room", [room])
    _check_same_restaurant(problems, restaurant, "tables", tables or [])
    if party is not None and party < 1:
        problems.add("party_size", gettext("A party is at least one person."))
    adults, children = values.get("adults"), values.get("children")
    if party and adults is not None and adults + (children or 0) != party:
        problems.add("adults", gettext("Adults and children add up to the party size."))
    duration = values.get("duration_min")
    if duration is not None and not 15 <= duration <= 720:
        problems.add("duration_min", gettext("A reservation lasts 15 minutes to 12 hours."))
    if not isinstance(moment, datetime):
        problems.add("reservation_time", gettext("Give the reservation time."))
        return problems
    if timezone.is_naive(moment):
        problems.add("reservation_time", gettext(
            "Give the time zone offset, e.g. 2026-02-21T19:30:00+01:00."), NAIVE_TIME)
        return problems
    local = timezone.localtime(moment, ZoneInfo(restaurant.time_zone))
    if service is not None and service.restaurant_id == restaurant.pk:
        if not service.is_active:
            problems.add("service", gettext("%(service)s is not active.") % {
                "service": service}, SERVICE_CLOSED)
        elif local.isoweekday() not in service.days:
            problems.add("reservation_time", gettext(
                "%(service)s is closed on %(day)s.") % {
                "service": service, "day": _weekday_name(local)}, SERVICE_CLOSED)
        elif not _service_takes(service, local):
            problems.add("reservation_time", gettext(
                "%(service)s takes reservations from %(start)s to %(last)s (%(zone)s).") % {
                "service": service, "start": f"{service.start_time:%H:%M}",
                "last": f"{(service.last_seating_time or service.end_time):%H:%M}",
                "zone": restaurant.time_zone}, SERVICE_CLOSED)
        if party and service.max_covers is not None and party > service.max_covers:
            problems.add("party_size", gettext(
                "%(service)s takes at most %(covers)s covers.") % {
                "service": service, "covers": service.max_covers}, PARTY_TOO_LARGE)
    elif service is None and restaurant.services.filter(is_active=True).exists():
        problems.add("reservation_time", gettext(
            "No service of %(restaurant)s is open at %(time)s (%(zone)s).") % {
            "restaurant": restaurant, "time": f"{local:%d/%m/%Y %H:%M}",
            "zone": restaurant.time_zone}, SERVICE_CLOSED)
    if offer is not None and offer.restaurant_id == restaurant.pk:
        if not (offer.is_active and offer.is_bookable):
            problems.add("offer", gettext("%(offer)s cannot be booked.") % {"offer": offer})
        elif not _offer_valid_on(offer, local.date()):
            problems.add("offer", gettext("%(offer)s is not valid on this date.") % {
                "offer": offer})
        if party and ((offer.min_party_size and party < offer.min_party_size)
                      or (offer.max_party_size and party > offer.max_party_size)):
            problems.add("party_size", gettext(
                "%(offer)s is for parties of %(min)s to %(max)s.") % {
                "offer": offer, "min": offer.min_party_size or 1,
                "max": offer.max_party_size or "…"})
    return problems


def _weekday_name(moment: datetime) -> str:
    return str(WEEKDAYS[moment.weekday()])


def _customer_problems(problems: Problems, *, name: str, phone: str, email: str) -> None:
    if not (name or "").strip():
        problems.add("customer_name", gettext("Give the customer's name."))
    if not phone and not email:
        problems.add("customer_phone", gettext("Give a phone number or an e-mail address."))
    if phone:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            problems.add("customer_phone", exc.messages[0])


@transaction.atomic
def reservation_create(*, restaurant: Restaurant, customer_name: str, customer_phone: str = "",
                       customer_email: str = "", party_size: int, reservation_time: datetime,
                       adults: int | None = None, children: int | None = None,
                       duration_min: int | None = None, status: str | None = None,
                       source: str = Reservation.Source.PHONE, notes: str = "",
                       allergies: list[str] | None = None,
                       dietary_restrictions: list[str] | None = None, occasion: str = "",
                       service: DiningService | None = None, offer: Offer | None = None,
                       dining_room: DiningRoom | None = None,
                       tables: Iterable[DiningTable] = (),
                       check_rules: bool = True, push: bool = True) -> Reservation:
    """A new reservation, version 1. Without a service given, the one whose
    hours take its time is linked. `check_rules=False` records a booking a
    platform has already accepted, whatever our opening hours say; `push=False`
    leaves the pushes to the caller (the sync engine, which sends a platform's
    booking to the other platforms only)."""
    tables = list(tables)
    problems = Problems()
    _customer_problems(problems, name=customer_name, phone=customer_phone, email=customer_email)
    if service is None and isinstance(reservation_time, datetime) \
            and not timezone.is_naive(reservation_time):
        service = service_for_time(restaurant=restaurant, moment=reservation_time)
    values = {"reservation_time": reservation_time, "party_size": party_size, "adults": adults,
              "children": children, "duration_min": duration_min, "service": service,
              "offer": offer, "dining_room": dining_room}
    if check_rules:
        merge = reservation_problems(restaurant=restaurant, values=values, tables=tables)
    else:
        merge = Problems()
        if isinstance(reservation_time, datetime) and timezone.is_naive(reservation_time):
            merge.add("reservation_time", gettext("Give the time zone offset."), NAIVE_TIME)
    problems.extend(merge)
    if status is None:
        auto = service is None or service.auto_confirm
        status = Status.CONFIRMED if auto else Status.PENDING
    if status not in Status.values:
        problems.add("status", gettext("Unknown status."))
    problems.raise_if_any()
    customer = customer_upsert(restaurant=restaurant, name=customer_name.strip(),
                               phone=customer_phone, email=customer_email, allergies=allergies)
    if duration_min is None:
        duration_min = service.default_duration_min if service else 90
    reservation = Reservation(
        restaurant=restaurant, customer=customer, party_size=party_size, adults=adults,
        children=children, reservation_time=reservation_time, duration_min=duration_min,
        status=status, source=source, notes=notes, allergies=list(allergies or []),
        dietary_restrictions=list(dietary_restrictions or []), occasion=occasion,
        service=service, offer=offer, dining_room=dining_room)
    _full_clean(reservation, exclude=["customer"])
    reservation.save()
    reservation.tables.set(tables)
    if push:
        operations.reservation_push(reservation=reservation)
    return reservation


RESERVATION_FIELDS = ("party_size", "adults", "children", "reservation_time", "duration_min",
                      "status", "source", "notes", "allergies", "dietary_restrictions",
                      "occasion", "service", "offer", "dining_room")


@transaction.atomic
def reservation_update(*, reservation: Reservation, expected_version: int | None = None,
                       tables: Iterable[DiningTable] | None = None,
                       customer_name: str | None = None, customer_phone: str | None = None,
                       customer_email: str | None = None, check_rules: bool = True,
                       push: bool = True, **changes: Any) -> Reservation:
    """Change what is given (RESERVATION_FIELDS, the tables, the customer's contact);
    the version goes up by one when anything changed.

    `expected_version`: the version the caller read; another one means someone
    changed the reservation since (409), nothing is stored. `push=False`
    leaves the pushes to the caller, as for `reservation_create`.
    """
    unknown = set(changes) - set(RESERVATION_FIELDS)
    if unknown:
        raise ValueError(f"not a reservation field: {', '.join(sorted(unknown))}")
    reservation = Reservation.objects.select_for_update().select_related(
        "restaurant", "customer").get(pk=reservation.pk)
    if expected_version is not None and expected_version != reservation.version:
        raise ServiceError(VERSION_CONFLICT, gettext(
            "The reservation changed since you read it (version %(current)s, not "
            "%(given)s); read it again.") % {"current": reservation.version,
                                             "given": expected_version},
            details={"version": [gettext("The current version is %(current)s.") % {
                "current": reservation.version}]}, status=409)
    restaurant = reservation.restaurant
    current_tables = list(reservation.tables.all())
    new_tables = current_tables if tables is None else list(tables)
    tables_changed = {t.pk for t in new_tables} != {t.pk for t in current_tables}
    new_status = changes.get("status", reservation.status)
    if new_status != reservation.status and new_status not in TRANSITIONS.get(
            reservation.status, set()):
        raise ServiceError(
            STATE_CODES.get(reservation.status, "invalid_status"),
            gettext("A reservation that is %(from)s cannot become %(to)s.") % {
                "from": reservation.get_status_display().lower(),
                "to": str(Status(new_status).label).lower() if new_status in Status.values
                else new_status},
            details={"status": [reservation.status]}, status=409)
    if reservation.status in (Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW) and (
            set(changes) - {"notes", "status"} or tables_changed):
        raise ServiceError(STATE_CODES[reservation.status], gettext(
            "A reservation that is %(status)s can only take notes.") % {
            "status": reservation.get_status_display().lower()}, status=409)
    changes = reservation_relinked(reservation=reservation, changes=changes)
    values = {field: getattr(reservation, field) for field in RESERVATION_FIELDS}
    values.update(changes)
    problems = Problems()
    contact = {"name": reservation.customer.name if customer_name is None else customer_name,
               "phone": reservation.customer.phone if customer_phone is None else customer_phone,
               "email": reservation.customer.email if customer_email is None else customer_email}
    if {customer_name, customer_phone, customer_email} != {None}:
        _customer_problems(problems, **contact)
    rules_touched = set(changes) & {"reservation_time", "party_size", "adults", "children",
                                    "duration_min", "service", "offer", "dining_room"}
    if check_rules and (rules_touched or tables_changed):
        problems.extend(reservation_problems(restaurant=restaurant, values=values,
                                             tables=new_tables))
    problems.raise_if_any()
    changed = _apply(reservation, changes)
    customer_changed = False
    if {customer_name, customer_phone, customer_email} != {None}:
        before = reservation.customer_id
        customer, customer_changed = _contact_customer(reservation, **contact)
        if customer.pk != before:
            reservation.customer = customer
            changed.append("customer")
    if not (changed or tables_changed or customer_changed):
        return reservation
    _full_clean(reservation, exclude=["customer"])
    reservation.version += 1
    reservation.save(update_fields=[*changed, "version", "updated_at"])
    if tables_changed:
        reservation.tables.set(new_tables)
    if push:
        operations.reservation_push(reservation=reservation)
    return reservation


def reservation_relinked(*, reservation: Reservation, changes: dict[str, Any]
                         ) -> dict[str, Any]:
    """The changes with the service that takes the new time, when the time moves
    and no service is given: dinner moved to noon is lunch (or, if no service
    takes it, no service, which the rules then refuse)."""
    if "reservation_time" not in changes or "service" in changes:
        return changes
    moment = changes["reservation_time"]
    if not isinstance(moment, datetime) or timezone.is_naive(moment):
        return changes
    return {**changes, "service": service_for_time(restaurant=reservation.restaurant,
                                                   moment=moment)}


def _contact_customer(reservation: Reservation, *, name: str, phone: str,
                      email: str) -> tuple[Customer, bool]:
    """The customer the reservation's new contact details describe (the same one
    brought up to date, or another of the restaurant's known by that phone), and
    whether what the reservation shows of them changed."""
    before = (reservation.customer_id, reservation.customer.name, reservation.customer.phone,
              reservation.customer.email)
    customer = customer_upsert(restaurant=reservation.restaurant, name=name, phone=phone,
                               email=email)
    return customer, before != (customer.pk, customer.name, customer.phone, customer.email)


# -- platform configurations ---------------------------------------------------------

def _check_entities(problems: Problems, field: str, values: Any) -> None:
    if not isinstance(values, list) or any(v not in SYNC_ENTITIES for v in values):
        problems.add(field, gettext("Choose among: %(choices)s.") % {
            "choices": ", ".join(SYNC_ENTITIES)})


def platform_config_check(config: SyncPlatformConfig) -> None:
    """Refuse (ServiceError, by field) settings the configuration cannot take."""
    problems = Problems()
    try:
        config.full_clean(exclude=["connection", "restaurant"])
    except ValidationError as exc:
        problems.add_validation_error(exc)
    _check_entities(problems, "master_for", config.master_for)
    _check_entities(problems, "sync_entities", config.sync_entities)
    problems.raise_if_any()


@transaction.atomic
def platform_config_create(*, restaurant: Restaurant, platform: str, api_key: str,
                           restaurant_uid: str, webhook_secret: str = "", base_url: str = "",
                           master_for: list[str] | None = None,
                           sync_entities: list[str] | None = None, supports_webhook: bool = True,
                           poll_interval_sec: int = 300, is_active: bool = True,
                           by=None) -> SyncPlatformConfig:
    """The restaurant's account on `platform`, on a new core connection that keeps
    the API key, the restaurant uid and the webhook secret encrypted."""
    problems = Problems()
    if not api_key:
        problems.add("api_key", gettext("Give the API key."))
    if not restaurant_uid:
        problems.add("restaurant_uid", gettext("Give the platform's restaurant id."))
    config = SyncPlatformConfig(
        restaurant=restaurant, platform=platform,
        master_for=list(master_for or []),
        sync_entities=list(sync_entities if sync_entities is not None else ["reservation"]),
        supports_webhook=supports_webhook, poll_interval_sec=poll_interval_sec,
        is_active=is_active)
    try:
        platform_config_check(config)
    except ServiceError as exc:
        for field, messages in exc.details.items():
            for message in messages:
                problems.add(field, message)
    problems.raise_if_any()
    if SyncPlatformConfig.objects.filter(restaurant=restaurant, platform=platform).exists():
        raise ServiceError(DUPLICATE_CONFIG, gettext(
            "%(restaurant)s already has a %(platform)s configuration.") % {
            "restaurant": restaurant, "platform": config.get_platform_display()},
            details={"platform": [gettext("One configuration per restaurant and platform.")]},
            status=409)
    config.connection = connection_create(
        platform=platform, name=f"{restaurant.name} ({config.get_platform_display()})",
        tenant_type=RESTAURANT_TENANT, tenant_id=str(restaurant.pk), base_url=base_url,
        credentials=Credentials(api_key=api_key, webhook_secret=webhook_secret,
                                extra={RESTAURANT_UID: restaurant_uid}),
        connected_by=by)
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError as exc:
        # Another request created it between the check and the save.
        raise ServiceError(DUPLICATE_CONFIG, gettext(
            "This restaurant already has a configuration for this platform."),
            status=409) from exc
    return config


CONFIG_FIELDS = ("master_for", "sync_entities", "supports_webhook", "poll_interval_sec",
                 "is_active")


@transaction.atomic
def platform_config_update(*, config: SyncPlatformConfig, api_key: str = "",
                           restaurant_uid: str = "", webhook_secret: str = "",
                           base_url: str | None = None, by=None,
                           **changes: Any) -> SyncPlatformConfig:
    """Change the given settings; a credential given replaces the stored one, an
    empty one keeps it (they are never read back to be sent again)."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"not a configuration field: {', '.join(sorted(unknown))}")
    config = SyncPlatformConfig.objects.select_for_update().select_related(
        "connection", "restaurant").get(pk=config.pk)
    changed = _apply(config, changes)
    if changed:
        platform_config_check(config)
        config.save(update_fields=[*changed, "updated_at"])
    if base_url is not None and base_url != config.connection.base_url:
        config.connection = connection_update(connection=config.connection, base_url=base_url)
    credentials = {name: value for name, value in (
        ("api_key", api_key), (RESTAURANT_UID, restaurant_uid),
        ("webhook_secret", webhook_secret)) if value}
    if credentials:
        config.connection = connection_set_credentials(connection=config.connection,
                                                       changes=credentials, by=by)
    return config


@transaction.atomic
def platform_config_delete(*, config: SyncPlatformConfig) -> None:
    """Stop syncing with this platform. The connection stays (its audit rows,
    operations and mappings refer to it) but is disconnected, so its webhook
    URL and client refuse further use."""
    connection_id = config.connection_id
    config.delete()
    Connection.objects.filter(pk=connection_id).update(
        status=Connection.Status.DISCONNECTED, updated_at=timezone.now(),
        status_reason=gettext("Its restaurant's platform configuration was deleted."))


def platform_config_record_sync(*, config: SyncPlatformConfig, error: str = "",
                                at: datetime | None = None) -> None:
    """What the sync engine reports after each exchange: when it last worked, and
    the last error (cleared by a success)."""
    if error:
        SyncPlatformConfig.objects.filter(pk=config.pk).update(last_error=error[:4000],
                                                               updated_at=timezone.now())
    else:
        SyncPlatformConfig.objects.filter(pk=config.pk).update(
            last_sync_at=at or timezone.now(), last_error="", updated_at=timezone.now())
