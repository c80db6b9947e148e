"""The simulated Formitable v1.2 world: restaurants, areas, tables, products, bookings.

Shapes follow ../shared/reference/restosync.md 1.3 (the Swagger client's
`attributeMap`): camelCase, restaurant and booking `uid` strings, integer
table and area ids, every date-time in the restaurant's time zone with its
UTC offset. Nothing here knows about HTTP; api.py turns `BookingError`
into the platform's 400 body.

Inferred (not in the public model, marked where used):
  `checkOutDateTime` on a booking, so a client can read the check-out
      toggle's state the way it reads `checkInDateTime` for check-in;
  a booking's `activity` log ({event, created}), served by the 2019-only
      `booking/{uid}/activity` endpoint;
  placement: without `tables` (or with an empty list) the system places the
      party on the free table of lowest `priority` that fits; given tables
      that are taken are replaced by an automatic placement with a warning,
      unless `forceTablePlacement` (create) asks to overbook them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

CREATED = "CREATED"
ACCEPTED = "ACCEPTED"
CANCELLED = "CANCELLED"
FAILED = "FAILED"
EXPIRED = "EXPIRED"
STATUSES = (CREATED, ACCEPTED, CANCELLED, FAILED, EXPIRED)
ACTIVE = frozenset({CREATED, ACCEPTED})  # the statuses that hold a table

TITLES = ("MALE", "FEMALE", "FAMILY", "NONE")
COLORS = ("#3edca8", "#00d0f1", "#b58dff", "#ff8da6", "#ff3800", "#ffd100")
DEFAULT_CULTURE = "en"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CULTURE_RE = re.compile(r"^[a-z]{2}$")
MIN_DURATION, MAX_DURATION = 15, 720

# RestaurantViewModel.timezone is in Windows format; the simulator keeps the
# IANA zone for its own arithmetic and shows the Windows name.
WINDOWS_ZONES = {
    "Europe/Brussels": "Romance Standard Time",
    "Europe/Paris": "Romance Standard Time",
    "Europe/Amsterdam": "W. Europe Standard Time",
    "Europe/Berlin": "W. Europe Standard Time",
    "Europe/London": "GMT Standard Time",
    "UTC": "UTC",
}

# The fields a PUT may change (BookingUpdateViewModel); anything else sent
# is ignored, as an ASP.NET model binder does with unknown properties.
UPDATABLE = (
    "color", "bookingDateTime", "bookingDuration", "numberOfPeople", "companyName", "title",
    "firstName", "lastName", "telephone", "email", "comments", "culture", "company", "tables",
)
REQUIRED_ON_CREATE = ("bookingDateTime", "bookingDuration", "numberOfPeople", "culture", "company")

Errors = dict[str, list[str]]


class BookingError(Exception):
    """Invalid input: the platform's 400, field by field."""

    def __init__(self, errors: Errors, message: str = "The request is invalid.") -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


def isoformat(moment: dt.datetime) -> str:
    """To the second with the offset, as in the model's examples."""
    return moment.isoformat(timespec="seconds")


@dataclass
class Area:
    id: int
    name: str
    display_name: dict[str, str]
    pos_id: str = ""
    priority: int = 0

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "posId": self.pos_id, "name": self.name,
                "displayName": dict(self.display_name), "priority": self.priority}


@dataclass
class Table:
    id: int
    name: str
    min_people: int
    max_people: int
    area_id: int
    pos_id: str = ""
    priority: int = 0

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "posId": self.pos_id, "name": self.name,
                "minPeople": self.min_people, "maxPeople": self.max_people,
                "areaId": self.area_id, "priority": self.priority}

    def booking_view(self) -> dict[str, Any]:
        # A booking's tables carry no priority in the model's example.
        view = self.view()
        del view["priority"]
        return view


@dataclass
class Shift:
    start_time: int  # minutes from midnight
    end_time: int
    product_uid: str

    def view(self) -> dict[str, Any]:
        return {"startTime": self.start_time, "endTime": self.end_time,
                "productUid": self.product_uid}


@dataclass
class Product:
    uid: str
    title: dict[str, str]
    price: int = 0  # cents
    default: bool = False

    def view(self) -> dict[str, Any]:
        return {"uid": self.uid, "title": dict(self.title), "description": {},
                "color": COLORS[0], "image": None, "recommended": False,
                "fromPrice": self.price / 100, "fullPrice": self.price / 100,
                "price": self.price, "isDeposit": False, "bookingWindowMin": "0h",
                "bookingWindowMax": "3m", "default": self.default}


@dataclass
class Restaurant:
    uid: str
    name: str
    timezone: str = "Europe/Brussels"
    culture: str = "nl"
    areas: dict[int, Area] = field(default_factory=dict)
    tables: dict[int, Table] = field(default_factory=dict)
    shifts: list[Shift] = field(default_factory=list)
    products: dict[str, Product] = field(default_factory=dict)
    closed_weekdays: frozenset[int] = frozenset()  # 0 = Monday
    default_duration: int = 120
    slot_minutes: int = 15
    min_booking_size: int = 1
    max_booking_size: int = 20

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, timestamp: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(timestamp, tz=self.zone)

    def default_product(self) -> Product | None:
        return next((p for p in self.products.values() if p.default), None)

    def view(self) -> dict[str, Any]:
        return {
            "uid": self.uid, "name": self.name,
            "timezone": WINDOWS_ZONES.get(self.timezone, self.timezone),
            "startCulture": self.culture, "createPolicy": "0h", "changePolicy": "2h",
            "cancelPolicy": "2h", "minRegularBooking": self.min_booking_size,
            "maxRegularBooking": min(self.max_booking_size, 8), "maxGroupBooking":
            self.max_booking_size, "minBookingSize": self.min_booking_size,
            "maxBookingSize": self.max_booking_size, "maxGuestsPerSlot": -1,
        }


@dataclass
class Booking:
    uid: str
    restaurant_uid: str
    created: dt.datetime
    booking_date_time: dt.datetime
    booking_duration: int
    number_of_people: int
    culture: str
    company: bool
    source: str
    status: str = ACCEPTED
    external_reference_id: str | None = None
    product_uid: str | None = None
    walk_in: bool = False
    pos_id: str | None = None
    check_in_date_time: dt.datetime | None = None
    check_out_date_time: dt.datetime | None = None
    company_name: str | None = None
    title: str = "NONE"
    first_name: str | None = None
    last_name: str | None = None
    telephone: str | None = None
    email: str | None = None
    comments: str | None = None
    newsletter: bool = False
    color: str = COLORS[0]
    option_expires: dt.datetime | None = None
    tables: list[int] = field(default_factory=list)
    activity: list[tuple[str, dt.datetime]] = field(default_factory=list)

    @property
    def ends_at(self) -> dt.datetime:
        return self.booking_date_time + dt.timedelta(minutes=self.booking_duration)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.status in ACTIVE and self.booking_date_time < end and start < self.ends_at

    def log(self, event: str, at: dt.datetime) -> None:
        self.activity.append((event, at))

    def activity_view(self, restaurant: Restaurant) -> list[dict[str, str]]:
        """BookingActivityPublicViewModel[]: {event, created}, oldest first."""
        return [{"event": event, "created": isoformat(at.astimezone(restaurant.zone))}
                for event, at in self.activity]

    def view(self, restaurant: Restaurant) -> dict[str, Any]:
        """BookingViewModel, every date-time in the restaurant's zone."""
        zone = restaurant.zone

        def when(moment: dt.datetime | None) -> str | None:
            return isoformat(moment.astimezone(zone)) if moment else None

        return {
            "uid": self.uid,
            "created": when(self.created),
            "bookingDateTime": when(self.booking_date_time),
            "bookingDuration": self.booking_duration,
            "checkInDateTime": when(self.check_in_date_time),
            "checkOutDateTime": when(self.check_out_date_time),  # inferred, see above
            "numberOfPeople": self.number_of_people,
            "companyName": self.company_name,
            "title": self.title,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "telephone": self.telephone,
            "email": self.email,
            "comments": self.comments,
            "culture": self.culture,
            "company": self.company,
            "newsletter": self.newsletter,
            "status": self.status,
            "color": self.color,
            "prePaidAmount": 0.0,
            "source": self.source,
            "externalReferenceId": self.external_reference_id,
            "optionExpires": when(self.option_expires),
            "tickets": [],
            "payments": [],
            "tables": [restaurant.tables[t].booking_view() for t in self.tables
                       if t in restaurant.tables],
        }


def sandbox_restaurant(uid: str, name: str = "Sandbox Bistro",
                       timezone: str = "Europe/Brussels") -> Restaurant:
    """A restaurant with two areas, seven tables, lunch and dinner every day."""
    dinner = Product(f"{uid}-dinner", {"en": "Dinner", "nl": "Diner"}, default=True)
    restaurant = Restaurant(uid=uid, name=name, timezone=timezone)
    restaurant.products = {dinner.uid: dinner}
    restaurant.areas = {
        1: Area(1, "Restaurant", {"nl": "Restaurant", "en": "Restaurant"}, "A1", 1),
        2: Area(2, "Terras", {"nl": "Terras", "en": "Terrace"}, "A2", 2),
    }
    restaurant.tables = {t.id: t for t in (
        Table(11, "11", 1, 2, 1, "T11", 1), Table(12, "12", 1, 2, 1, "T12", 2),
        Table(13, "13", 2, 4, 1, "T13", 3), Table(14, "14", 2, 4, 1, "T14", 4),
        Table(15, "15", 4, 6, 1, "T15", 5), Table(21, "21", 1, 2, 2, "T21", 6),
        Table(22, "22", 2, 4, 2, "T22", 7),
    )}
    restaurant.shifts = [Shift(12 * 60, 14 * 60 + 30, dinner.uid),
                         Shift(18 * 60, 22 * 60 + 30, dinner.uid)]
    return restaurant


def restaurant_from_spec(spec: dict[str, Any]) -> Restaurant:
    """A restaurant from a control-API body: the sandbox one unless areas/tables are given."""
    restaurant = sandbox_restaurant(str(spec["uid"]), spec.get("name", "Sandbox Bistro"),
                                    spec.get("timezone", "Europe/Brussels"))
    ZoneInfo(restaurant.timezone)  # an unknown zone fails here, not at the first booking
    if "areas" in spec:
        restaurant.areas = {int(a["id"]): Area(int(a["id"]), a["name"],
                                               a.get("displayName", {"en": a["name"]}),
                                               a.get("posId", ""), int(a.get("priority", 0)))
                            for a in spec["areas"]}
    if "tables" in spec:
        restaurant.tables = {int(t["id"]): Table(int(t["id"]), t["name"],
                                                 int(t.get("minPeople", 1)),
                                                 int(t["maxPeople"]), int(t["areaId"]),
                                                 t.get("posId", ""), int(t.get("priority", 0)))
                             for t in spec["tables"]}
    if "closedWeekdays" in spec:
        restaurant.closed_weekdays = frozenset(int(d) for d in spec["closedWeekdays"])
    return restaurant


# -- input --------------------------------------------------------------------------
class Reader:
    """Reads one request body field by field, collecting errors the ASP.NET way."""

    def __init__(self, body: dict[str, Any], restaurant: Restaurant) -> None:
        self.body = body
        self.restaurant = restaurant
        self.errors: Errors = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def present(self, name: str) -> bool:
        """Sent with a value: null means "keep the current value" on a PUT."""
        return self.body.get(name) is not None

    def text(self, name: str, max_length: int = 200) -> str | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_length:
            self.fail(name, f"The field {name} must be a string of at most {max_length} "
                            "characters.")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.body.get(name)
        if value is not None and not isinstance(value, bool):
            self.fail(name, f"The field {name} must be true or false.")
            return None
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(name, f"The field {name} must be between {low} and {high}.")
            return None
        return value

    def moment(self, name: str) -> dt.datetime | None:
        """A date-time; without an offset it is the restaurant's local time."""
        value = self.body.get(name)
        if value is None:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail(name, f"The value '{value}' is not a valid date-time.")
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.restaurant.zone)
        return parsed.astimezone(self.restaurant.zone)

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.body.get(name)
        if value is not None and value not in choices:
            self.fail(name, f"The field {name} must be one of {', '.join(choices)}.")
            return None
        return value

    def culture(self) -> str | None:
        value = self.body.get("culture")
        if value is not None and not (isinstance(value, str) and CULTURE_RE.match(value)):
            self.fail("culture", "The field culture must be a two letter ISO culture.")
            return None
        return value

    def email(self) -> str | None:
        value = self.text("email", 254)
        if value is not None and not EMAIL_RE.match(value):
            self.fail("email", "The email field is not a valid e-mail address.")
            return None
        return value

    def table_ids(self) -> list[int] | None:
        value = self.body.get("tables")
        if value is None:
            return None
        if not isinstance(value, list) or not all(
            isinstance(t, int) and not isinstance(t, bool) for t in value
        ):
            self.fail("tables", "The field tables must be an array of table ids.")
            return None
        unknown = [t for t in value if t not in self.restaurant.tables]
        if unknown:
            self.fail("tables", f"Unknown table id(s): {', '.join(map(str, unknown))}.")
            return None
        return list(dict.fromkeys(value))

    def check(self) -> None:
        if self.errors:
            raise BookingError(self.errors)


def read_guest_fields(reader: Reader) -> dict[str, Any]:
    """The guest fields shared by create and update, only those sent with a value."""
    readers = {
        "companyName": lambda: reader.text("companyName"),
        "title": lambda: reader.choice("title", TITLES),
        "firstName": lambda: reader.text("firstName", 100),
        "lastName": lambda: reader.text("lastName", 100),
        "telephone": lambda: reader.text("telephone", 50),
        "email": reader.email,
        "comments": lambda: reader.text("comments", 2000),
        "color": lambda: reader.choice("color", COLORS),
        "culture": reader.culture,
        "company": lambda: reader.boolean("company"),
        "bookingDateTime": lambda: reader.moment("bookingDateTime"),
        "bookingDuration": lambda: reader.integer("bookingDuration", MIN_DURATION, MAX_DURATION),
        "numberOfPeople": lambda: reader.integer(
            "numberOfPeople", reader.restaurant.min_booking_size,
            reader.restaurant.max_booking_size),
    }
    return {name: read() for name, read in readers.items() if reader.present(name)}


ATTRIBUTES = {
    "companyName": "company_name", "title": "title", "firstName": "first_name",
    "lastName": "last_name", "telephone": "telephone", "email": "email",
    "comments": "comments", "color": "color", "culture": "culture", "company": "company",
    "bookingDateTime": "booking_date_time", "bookingDuration": "booking_duration",
    "numberOfPeople": "number_of_people",
}


def free_tables(restaurant: Restaurant, bookings: list[Booking], start: dt.datetime,
                end: dt.datetime, *, ignore: str | None = None) -> set[int]:
    taken = {t for b in bookings if b.uid != ignore and b.restaurant_uid == restaurant.uid
             and b.overlaps(start, end) for t in b.tables}
    return set(restaurant.tables) - taken


def place(restaurant: Restaurant, free: set[int], people: int) -> list[int]:
    """The free table of lowest priority that fits (a lower number fills first)."""
    fitting = sorted((t for t in restaurant.tables.values()
                      if t.id in free and t.min_people <= people <= t.max_people),
                     key=lambda t: (t.priority, t.max_people, t.id))
    return [fitting[0].id] if fitting else []
