"""The Formitable v1.2 partner API as the hub sees it, plus the simulator's controls.

Paths are those of ../shared/reference/restosync.md 1.2 under the base URL
(`/api/v1.2/{restaurantUid}/…`). Every partner request carries the key in an
`ApiKey` header, without prefix. Checked in this order:
  401 {"message": "Authorization has been denied for this request."}
      no key or an unknown one (the ASP.NET default text: Formitable is a
      .NET service; the real error body is not public);
  404 {"message": "Restaurant … not found."}   an unknown restaurant uid;
  403 {"message": …}                            a key not given for that restaurant;
  429 {"message": "Too many requests."}         beyond `per_minute_limit` in
      `window_seconds` for that restaurant, WITHOUT Retry-After;
  400 {"message": …, "errors": {"field": ["…"]}} invalid input (ASP.NET
      ModelState style, inferred) or a booking no longer changeable;
  404 {"message": …}                            an unknown booking, table or area.

Bookings made through the API get the key's `source` (the app's name): the
reference cannot say what `source` the real look-up
`booking/external/{source}/{ref}` wants (1.5.2 says: read it from a booking
you created), so here it is whatever the key is registered with
(`api_keys={key: source}`), "workforce-hub" by default (the connector's
default `external_source`).

Fault knobs: the framework's (latency, error rate, hanging response,
malformed body, `rate_limit_every`) plus `timeout_after_create`: the next
N creates are stored, then their answer is held back
`timeout_after_create_seconds` (longer than the hub waits), so the hub must
find the booking through the external look-up.

Control endpoints (no key, not counted, not limited), besides the
framework's /_sim/faults, /_sim/reset and /_sim/state:
  POST   /_sim/advance            {"seconds": n} moves the simulator's clock
  POST   /_sim/platform-faults    {"timeout_after_create": n, "timeout_after_create_seconds": s}
  POST   /_sim/restaurants        {"uid", "name"?, "timezone"?, "api_key"?, "source"?, "areas"?,
                                   "tables"?, "closedWeekdays"?} adds a restaurant
  POST   /_sim/webhooks           {"restaurant_uid", "url", "secret", …} (webhooks.py)
  POST   /_sim/webhooks/release   {"restaurant_uid", "order": sent|reverse|shuffle}
  POST   /_sim/webhooks/redeliver {"restaurant_uid", "event_id"}
  GET    /_sim/bookings           every booking with its activity (?restaurant_uid=)
  POST   /_sim/bookings           a guest books (BookingCreateViewModel plus
                                   "restaurantUid", "source"?, "status"?, "optionMinutes"?)
  PATCH  /_sim/bookings/{uid}     the guest or the restaurant changes it (any field
                                   of a PUT, and "status": any string, even unknown)
  DELETE /_sim/bookings/{uid}     the guest cancels
  POST   /_sim/bookings/{uid}/checkin | checkout   the restaurant's toggles
Every change made through these is sent to the restaurant's webhook.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from apps.core.simulator import (
    ControlError,
    FaultKnobs,
    SimRequest,
    SimResponse,
    Simulator,
    control_route,
    route,
)
from apps.core.simulator_kit.clock import SimClock
from apps.core.simulator_kit.worker import BackgroundWorker

from . import availability
from .ledger import Change, Ledger
from .ratelimit import SlidingLog
from .store import (
    ACCEPTED,
    CREATED,
    Booking,
    BookingError,
    Restaurant,
    isoformat,
    restaurant_from_spec,
    sandbox_restaurant,
)
from .webhooks import WebhookChannel, WebhookSettings, encode_event

logger = logging.getLogger(__name__)

API = "/api/v1.2"
R = API + "/{restaurantUid}"
SANDBOX_RESTAURANT_UID = "91edfa29"  # the reference's example uid (8 hex characters)
SANDBOX_API_KEY = "zenchef-simulator-key"
DEFAULT_SOURCE = "workforce-hub"  # the connector's default `external_source`
GUEST_SOURCE = "widget"
UNAUTHORIZED = "Authorization has been denied for this request."
MAX_LIST_DAYS = 31  # "days is 1-31"
MAX_AVAILABILITY_DAYS = 42  # "days 1-42"
LANGUAGES = ("en", "nl")
WORKER_TICK_SECONDS = 0.02
# Framework control actions, left to the base class.


class ApiError(Exception):
    def __init__(self, status: int, message: str,
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def response(self) -> SimResponse:
        body: dict[str, Any] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return SimResponse.json(self.status, body)


def endpoint(method: str, pattern: str):
    """`route()` plus the ApiKey check, the per-restaurant limit and the error body."""
    label = f"{method} {pattern}"

    def decorate(func: Callable[..., SimResponse]):
        @functools.wraps(func)
        def wrapper(self: ZenchefSimulator, request: SimRequest) -> SimResponse:
            return self._serve_partner(label, func, request)

        return route(method, pattern)(wrapper)

    return decorate


class ZenchefSimulator(Simulator):
    """Zenchef as the Formitable v1.2 partner API.

    restaurants: Restaurant objects (default: the sandbox one, uid 91edfa29).
    api_keys: key -> source name; every key reaches every restaurant unless
        `key_restaurants` narrows it (key -> uids).
    webhooks: restaurant uid -> WebhookSettings (or the control body as a dict).
    """

    name = "zenchef"

    def __init__(
        self,
        *,
        restaurants: list[Restaurant] | None = None,
        api_keys: dict[str, str] | None = None,
        key_restaurants: dict[str, set[str]] | None = None,
        webhooks: dict[str, WebhookSettings | dict[str, Any]] | None = None,
        per_minute_limit: int = 100,
        window_seconds: float = 60.0,
        timeout_after_create: int = 0,
        timeout_after_create_seconds: float = 60.0,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed,
                         clock=clock if isinstance(clock, SimClock) else SimClock(clock))
        self.initial_restaurants = restaurants or [sandbox_restaurant(SANDBOX_RESTAURANT_UID)]
        self.api_keys = dict(api_keys or {SANDBOX_API_KEY: DEFAULT_SOURCE})
        self.key_restaurants = {k: set(v) for k, v in (key_restaurants or {}).items()}
        self.initial_webhooks = {
            uid: s if isinstance(s, WebhookSettings) else WebhookSettings.from_body(s)
            for uid, s in (webhooks or {}).items()}
        self.limiter = SlidingLog(per_minute_limit, window_seconds)
        self.timeout_after_create = timeout_after_create
        self.timeout_after_create_seconds = timeout_after_create_seconds
        self.ledger = Ledger(self.random)
        self._context = threading.local()
        self.worker = BackgroundWorker(self._background_step, name="sim-zenchef-webhooks",
                                       tick=WORKER_TICK_SECONDS)
        self._clear_state()

    def _clear_state(self) -> None:
        self.clock.reset()
        self.restaurants = {r.uid: r for r in self.initial_restaurants}
        self.channels = {uid: WebhookChannel(uid, s, clock=self.clock)
                         for uid, s in self.initial_webhooks.items()}
        self.ledger.clear()
        self.limiter.clear()
        self.endpoint_requests: Counter[str] = Counter()
        self.rate_limited_count = 0
        self.lost_answers: list[str] = []  # uids of bookings whose create answer was held back
        self.events: list[dict[str, Any]] = []

    # -- time and the webhook worker ---------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock.datetime()

    def deliver_webhooks(self) -> int:
        """Send the due webhooks of every restaurant on the calling thread."""
        with self.lock:
            channels = list(self.channels.values())
        return sum(channel.sender.deliver_due() for channel in channels)

    def close(self) -> None:
        """Stop the webhook worker (started by the first event)."""
        self.worker.close()

    def _background_step(self) -> None:
        with self.lock:
            self._expire_options()
        # Outside the lock: the hub may call the simulator back meanwhile.
        self.deliver_webhooks()

    def _expire_options(self) -> None:
        for change in self.ledger.expire_options(self.now()):
            self._emit(change, platform_side=True)

    def _emit(self, change: Change, *, platform_side: bool) -> None:
        """Report a change on the restaurant's webhook, if it has one and wants it."""
        booking = change.booking
        restaurant = self.restaurants[booking.restaurant_uid]
        event_id = f"evt_{secrets.token_hex(12)}"
        occurred_at = self.now().astimezone(restaurant.zone).isoformat(timespec="microseconds")
        view = booking.view(restaurant)
        self.events.append({"eventId": event_id, "kind": change.kind,
                            "restaurantUid": restaurant.uid, "bookingUid": booking.uid,
                            "fields": list(change.fields), "occurredAt": occurred_at,
                            "platformSide": platform_side})
        channel = self.channels.get(restaurant.uid)
        if channel is None or not (platform_side or channel.settings.echo_api_changes):
            return
        body = encode_event(channel.settings, event_id=event_id, kind=change.kind,
                            restaurant_uid=restaurant.uid, occurred_at=occurred_at,
                            booking=view)
        channel.submit(event_id, channel.settings.event_names[change.kind], body)
        self.worker.start()

    # -- framework hooks -----------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        hang = getattr(self._context, "hang_seconds", 0.0)
        if hang:
            # The booking is stored; only its answer is late (after the lock is released).
            self._context.hang_seconds = 0.0
            time.sleep(hang)
        return response

    def reset(self) -> None:
        # Like the framework's knobs, the platform fault goes back to off;
        # webhooks go back to those given at construction.
        self.timeout_after_create = 0
        self._clear_state()

    def control_prepare(self, request: SimRequest) -> None:
        self._expire_options()

    def control_error(self, exc: Exception) -> SimResponse | None:
        if isinstance(exc, BookingError):
            return SimResponse.json(400, {"error": exc.message, "errors": exc.errors})
        return None

    def state(self) -> dict[str, Any]:
        self._expire_options()
        return {
            **super().state(),
            "now": isoformat(self.now()),
            "requests_by_endpoint": dict(self.endpoint_requests),
            "rate_limited": self.rate_limited_count,
            "timeout_after_create": self.timeout_after_create,
            "lost_answers": list(self.lost_answers),
            "restaurants": {uid: {**r.view(), "iana_timezone": r.timezone}
                            for uid, r in self.restaurants.items()},
            "bookings": [self._full_view(b) for b in self.ledger.bookings.values()],
            "events": list(self.events),
            "webhooks": {uid: c.state() for uid, c in self.channels.items()},
        }

    def not_found(self, request: SimRequest) -> SimResponse:
        return ApiError(404, f"No HTTP resource was found that matches the request URI "
                             f"'{request.path}'.").response()

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        return ApiError(405, f"The requested resource does not support http method "
                             f"'{request.method}'.").response()

    def bad_json(self, request: SimRequest) -> SimResponse:
        return ApiError(400, "The request is invalid.", {"body": ["Malformed JSON."]}).response()

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        # The framework's `rate_limit_every` knob: the platform's 429, no Retry-After.
        return ApiError(429, "Too many requests.").response()

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return ApiError(status, "An error has occurred.").response()

    def _full_view(self, booking: Booking) -> dict[str, Any]:
        restaurant = self.restaurants[booking.restaurant_uid]
        return {**booking.view(restaurant), "restaurantUid": restaurant.uid,
                "productUid": booking.product_uid, "walkIn": booking.walk_in,
                "activity": booking.activity_view(restaurant)}

    # -- the partner API's gate ----------------------------------------------------
    def _serve_partner(self, label: str, func: Callable[..., SimResponse],
                       request: SimRequest) -> SimResponse:
        with self.lock:
            self.endpoint_requests[label] += 1
        try:
            with self.lock:
                key = self._authenticate(request)
                uid = request.path_params.get("restaurantUid")
                restaurant = self._restaurant(key, uid) if uid else None
                if not self.limiter.acquire(uid or key, self.clock()):
                    self.rate_limited_count += 1
                    raise ApiError(429, "Too many requests.")
                self._expire_options()
                return func(self, request, restaurant, key)
        except BookingError as exc:
            return ApiError(400, exc.message, exc.errors or None).response()
        except ApiError as exc:
            return exc.response()

    def _authenticate(self, request: SimRequest) -> str:
        key = request.header("ApiKey")
        if not key or key not in self.api_keys:
            raise ApiError(401, UNAUTHORIZED)
        return key

    def _restaurant(self, key: str, uid: str) -> Restaurant:
        restaurant = self.restaurants.get(uid)
        if restaurant is None:
            raise ApiError(404, f"Restaurant {uid} not found.")
        allowed = self.key_restaurants.get(key)
        if allowed is not None and uid not in allowed:
            raise ApiError(403, f"This key has no access to restaurant {uid}.")
        return restaurant

    def _visible(self, key: str) -> list[Restaurant]:
        allowed = self.key_restaurants.get(key)
        return [r for r in self.restaurants.values() if allowed is None or r.uid in allowed]

    @staticmethod
    def _json_object(request: SimRequest, *, optional: bool = False) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError as exc:
            raise ApiError(400, "The request is invalid.", {"body": ["Malformed JSON."]}) from exc
        if body is None and optional:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, "The request is invalid.",
                           {"body": ["The request body must be a JSON object."]})
        return body

    @staticmethod
    def _booking_of(ledger: Ledger, restaurant: Restaurant, uid: str) -> Booking:
        booking = ledger.get(restaurant, uid)
        if booking is None:
            raise ApiError(404, f"Booking {uid} not found.")
        return booking

    @staticmethod
    def _date(value: str, name: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ApiError(400, "The request is invalid.",
                           {name: [f"The value '{value}' is not a valid date (yyyy-mm-dd)."]},
                           ) from exc

    @staticmethod
    def _number(value: str, name: str, low: int, high: int) -> int:
        if not value.isdigit() or not low <= int(value) <= high:
            raise ApiError(400, "The request is invalid.",
                           {name: [f"The field {name} must be between {low} and {high}."]})
        return int(value)

    @staticmethod
    def _language(value: str) -> str:
        if value not in LANGUAGES:
            raise ApiError(400, "The request is invalid.",
                           {"language": [f"The language must be one of {', '.join(LANGUAGES)}."]})
        return value

    def _booking_response(self, restaurant: Restaurant, change: Change,
                          status: int = 200) -> SimResponse:
        return SimResponse.json(status, {**change.booking.view(restaurant),
                                         "warnings": list(change.warnings)})

    # -- restaurants --------------------------------------------------------------
    @endpoint("GET", API + "/restaurants")
    def list_restaurants(self, request, restaurant, key) -> SimResponse:
        return SimResponse.json(200, [r.view() for r in self._visible(key)])

    @endpoint("GET", API + "/restaurants/{restaurantUid}")
    def get_restaurant(self, request, restaurant, key) -> SimResponse:
        return SimResponse.json(200, restaurant.view())

    # -- bookings -----------------------------------------------------------------
    @endpoint("POST", R + "/booking")
    def create_booking(self, request, restaurant, key) -> SimResponse:
        change = self.ledger.create(restaurant, self._json_object(request),
                                    source=self.api_keys[key], now=self.now())
        self._emit(change, platform_side=False)
        if self.timeout_after_create > 0:
            self.timeout_after_create -= 1
            self.lost_answers.append(change.booking.uid)
            self._context.hang_seconds = self.timeout_after_create_seconds
        return self._booking_response(restaurant, change)

    @endpoint("GET", R + "/booking/{uid}")
    def get_booking(self, request, restaurant, key) -> SimResponse:
        booking = self._booking_of(self.ledger, restaurant, request.path_params["uid"])
        return SimResponse.json(200, booking.view(restaurant))

    @endpoint("PUT", R + "/booking/{uid}")
    def update_booking(self, request, restaurant, key) -> SimResponse:
        booking = self._booking_of(self.ledger, restaurant, request.path_params["uid"])
        change = self.ledger.update(restaurant, booking, self._json_object(request),
                                    now=self.now())
        if change.fields:
            self._emit(change, platform_side=False)
        return self._booking_response(restaurant, change)

    @endpoint("DELETE", R + "/booking/{uid}")
    def cancel_booking(self, request, restaurant, key) -> SimResponse:
        booking = self._booking_of(self.ledger, restaurant, request.path_params["uid"])
        change = self.ledger.cancel(booking, now=self.now())
        if change is not None:
            self._emit(change, platform_side=False)
        return SimResponse.empty(200)

    @endpoint("PUT", R + "/booking/checkin/{uid}")
    def check_in(self, request, restaurant, key) -> SimResponse:
        booking = self._booking_of(self.ledger, restaurant, request.path_params["uid"])
        change = self.ledger.toggle_check_in(booking, now=self.now())
        self._emit(change, platform_side=False)
        return SimResponse.json(200, booking.view(restaurant))

    @endpoint("PUT", R + "/booking/checkout/{uid}")
    def check_out(self, request, restaurant, key) -> SimResponse:
        booking = self._booking_of(self.ledger, restaurant, request.path_params["uid"])
        self._json_object(request, optional=True)  # PosOrderData is optional and not kept
        change = self.ledger.toggle_check_out(booking, now=self.now())
        self._emit(change, platform_side=False)
        return SimResponse.json(200, booking.view(restaurant))

    @endpoint("GET", R + "/booking/{first}/{second}")
    def future_or_activity(self, request, restaurant, key) -> SimResponse:
        """Two documented paths share this shape: `{from}/{days}` and `{uid}/activity`."""
        first, second = request.path_params["first"], request.path_params["second"]
        if second == "activity":
            booking = self._booking_of(self.ledger, restaurant, first)
            return SimResponse.json(200, booking.activity_view(restaurant))
        start = self._date(first, "from")
        today = self.now().astimezone(restaurant.zone).date()
        if start < today:
            raise ApiError(400, "The request is invalid.",
                           {"from": ["The date should be equal or later than today."]})
        days = self._number(second, "days", 1, MAX_LIST_DAYS)
        return SimResponse.json(200, [b.view(restaurant)
                                      for b in self.ledger.future(restaurant, start, days)])

    @endpoint("GET", R + "/booking/external/{source}/{reference}")
    def find_external(self, request, restaurant, key) -> SimResponse:
        source, reference = request.path_params["source"], request.path_params["reference"]
        booking = self.ledger.find_external(restaurant, source, reference)
        if booking is None:
            raise ApiError(404, f"No booking with external reference {reference} "
                                f"from {source}.")
        return SimResponse.json(200, booking.view(restaurant))

    # -- tables, areas, products ----------------------------------------------------
    @endpoint("GET", R + "/tables")
    def list_tables(self, request, restaurant, key) -> SimResponse:
        return SimResponse.json(200, [t.view() for t in restaurant.tables.values()])

    @endpoint("GET", R + "/tables/{tableId}")
    def get_table(self, request, restaurant, key) -> SimResponse:
        table_id = request.path_params["tableId"]
        table = restaurant.tables.get(int(table_id)) if table_id.isdigit() else None
        if table is None:
            raise ApiError(404, f"Table {table_id} not found.")
        return SimResponse.json(200, table.view())

    @endpoint("GET", R + "/tables/area/{areaId}")
    def list_area_tables(self, request, restaurant, key) -> SimResponse:
        area = self._area(restaurant, request.path_params["areaId"])
        return SimResponse.json(200, [t.view() for t in restaurant.tables.values()
                                      if t.area_id == area.id])

    @endpoint("GET", R + "/areas")
    def list_areas(self, request, restaurant, key) -> SimResponse:
        return SimResponse.json(200, [a.view() for a in restaurant.areas.values()])

    @endpoint("GET", R + "/areas/{areaId}")
    def get_area(self, request, restaurant, key) -> SimResponse:
        return SimResponse.json(200, self._area(restaurant, request.path_params["areaId"]).view())

    @endpoint("GET", R + "/product/ticket")
    def list_products(self, request, restaurant, key) -> SimResponse:
        return SimResponse.json(200, [p.view() for p in restaurant.products.values()])

    @staticmethod
    def _area(restaurant: Restaurant, area_id: str):
        area = restaurant.areas.get(int(area_id)) if area_id.isdigit() else None
        if area is None:
            raise ApiError(404, f"Area {area_id} not found.")
        return area

    # -- availability --------------------------------------------------------------
    @endpoint("GET", R + "/availability/days/{from}/{days}/{numberOfPeople}/{language}")
    def availability_days(self, request, restaurant, key) -> SimResponse:
        params = request.path_params
        start = self._date(params["from"], "from")
        days = self._number(params["days"], "days", 1, MAX_AVAILABILITY_DAYS)
        people = self._people(restaurant, params["numberOfPeople"])
        self._language(params["language"])
        local_now = self.now().astimezone(restaurant.zone)
        return SimResponse.json(200, availability.days_of(
            restaurant, list(self.ledger.bookings.values()), start, days, people, local_now))

    @endpoint("GET", R + "/availability/day/{date}/{numberOfPeople}/{language}")
    def availability_day(self, request, restaurant, key) -> SimResponse:
        params = request.path_params
        day = self._date(params["date"], "date")
        people = self._people(restaurant, params["numberOfPeople"])
        self._language(params["language"])
        local_now = self.now().astimezone(restaurant.zone)
        return SimResponse.json(200, availability.times_of(
            restaurant, list(self.ledger.bookings.values()), day, people, local_now))

    @endpoint("GET", R + "/availability/open/{date}")
    def opening_times(self, request, restaurant, key) -> SimResponse:
        day = self._date(request.path_params["date"], "date")
        return SimResponse.json(200, availability.shifts_of(restaurant, day))

    def _people(self, restaurant: Restaurant, value: str) -> int:
        return self._number(value, "numberOfPeople", restaurant.min_booking_size,
                            restaurant.max_booking_size)

    # -- control: the world --------------------------------------------------------
    @control_route("POST", "/advance")
    def control_advance(self, request: SimRequest) -> SimResponse:
        seconds = float((request.json() or {}).get("seconds", 0))
        self.clock.advance(seconds)
        self._expire_options()
        return SimResponse.json(200, {"now": isoformat(self.now())})

    @control_route("POST", "/platform-faults")
    def control_platform_faults(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        unknown = set(body) - {"timeout_after_create", "timeout_after_create_seconds"}
        if unknown:
            raise ValueError(f"unknown platform fault(s): {', '.join(sorted(unknown))}")
        self.timeout_after_create = int(body.get("timeout_after_create",
                                                 self.timeout_after_create))
        self.timeout_after_create_seconds = float(body.get(
            "timeout_after_create_seconds", self.timeout_after_create_seconds))
        return SimResponse.json(200, {
            "timeout_after_create": self.timeout_after_create,
            "timeout_after_create_seconds": self.timeout_after_create_seconds})

    @control_route("POST", "/restaurants")
    def control_add_restaurant(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        restaurant = restaurant_from_spec(body)
        self.restaurants[restaurant.uid] = restaurant
        if body.get("api_key"):
            self.api_keys.setdefault(body["api_key"], body.get("source", DEFAULT_SOURCE))
        return SimResponse.json(201, restaurant.view())

    @control_route("POST", "/webhooks")
    def control_webhooks(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        uid = body.get("restaurant_uid", SANDBOX_RESTAURANT_UID)
        if uid not in self.restaurants:
            raise ValueError(f"unknown restaurant {uid}")
        self.channels[uid] = WebhookChannel(uid, WebhookSettings.from_body(body),
                                            clock=self.clock)
        return SimResponse.json(200, self.channels[uid].state())

    @control_route("POST", "/webhooks/release")
    def control_release(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        channel = self._channel(body)
        released = channel.release(body.get("order", "sent"), self.random)
        self.worker.start()
        return SimResponse.json(200, {"released": released})

    @control_route("POST", "/webhooks/redeliver")
    def control_redeliver(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        if not self._channel(body).redeliver(str(body.get("event_id", ""))):
            return SimResponse.json(404, {"error": "unknown event_id"})
        self.worker.start()
        return SimResponse.json(200, {"redelivered": body["event_id"]})

    def _channel(self, body: dict[str, Any]) -> WebhookChannel:
        uid = body.get("restaurant_uid", SANDBOX_RESTAURANT_UID)
        if uid not in self.channels:
            raise ValueError(f"no webhook configured for restaurant {uid}")
        return self.channels[uid]

    # -- control: the guest and the restaurant ---------------------------------------
    @control_route("GET", "/bookings")
    def control_list_bookings(self, request: SimRequest) -> SimResponse:
        uid = (request.query.get("restaurant_uid") or [None])[-1]
        return SimResponse.json(200, [self._full_view(b) for b in self.ledger.bookings.values()
                                      if uid is None or b.restaurant_uid == uid])

    @control_route("POST", "/bookings")
    def control_guest_books(self, request: SimRequest) -> SimResponse:
        body = dict(request.json() or {})
        restaurant = self._control_restaurant(body.pop("restaurantUid", SANDBOX_RESTAURANT_UID))
        status = body.pop("status", ACCEPTED)
        if status not in (ACCEPTED, CREATED):
            raise ValueError("a new booking is ACCEPTED, or CREATED (an option)")
        source = str(body.pop("source", GUEST_SOURCE))
        option_minutes = body.pop("optionMinutes", None)
        # A guest on the widget does not name every field the partner API requires.
        body = {"bookingDuration": None, "culture": None, "company": False, **body}
        change = self.ledger.create(restaurant, body, source=source, now=self.now(),
                                    status=status, option_minutes=option_minutes)
        self._emit(change, platform_side=True)
        return SimResponse.json(201, {**self._full_view(change.booking),
                                      "warnings": list(change.warnings)})

    @control_route("PATCH", "/bookings/{uid}")
    def control_change_booking(self, request: SimRequest) -> SimResponse:
        booking = self._control_booking(request.path_params["uid"])
        restaurant = self.restaurants[booking.restaurant_uid]
        change = self.ledger.update(restaurant, booking, request.json() or {}, now=self.now(),
                                    allow_status=True)
        if change.fields:
            self._emit(change, platform_side=True)
        return SimResponse.json(200, {**self._full_view(booking), "changed": list(change.fields),
                                      "warnings": list(change.warnings)})

    @control_route("DELETE", "/bookings/{uid}")
    def control_cancel_booking(self, request: SimRequest) -> SimResponse:
        booking = self._control_booking(request.path_params["uid"])
        change = self.ledger.cancel(booking, now=self.now())
        if change is not None:
            self._emit(change, platform_side=True)
        return SimResponse.json(200, self._full_view(booking))

    @control_route("POST", "/bookings/{uid}/checkin")
    def control_check_in(self, request: SimRequest) -> SimResponse:
        booking = self._control_booking(request.path_params["uid"])
        self._emit(self.ledger.toggle_check_in(booking, now=self.now()), platform_side=True)
        return SimResponse.json(200, self._full_view(booking))

    @control_route("POST", "/bookings/{uid}/checkout")
    def control_check_out(self, request: SimRequest) -> SimResponse:
        booking = self._control_booking(request.path_params["uid"])
        self._emit(self.ledger.toggle_check_out(booking, now=self.now()), platform_side=True)
        return SimResponse.json(200, self._full_view(booking))

    def _control_restaurant(self, uid: str) -> Restaurant:
        if uid not in self.restaurants:
            raise ControlError(f"unknown restaurant {uid}", status=404)
        return self.restaurants[uid]

    def _control_booking(self, uid: str) -> Booking:
        if uid not in self.ledger.bookings:
            raise ControlError(f"unknown booking {uid}", status=404)
        return self.ledger.bookings[uid]
