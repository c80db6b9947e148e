"""MY TUNICLAIM's API as the hub sees it, plus the simulator's controls.

The API (paths under the base URL, docs/tuniclaim.md):
  GET /api/bordereaux?page=N&pageSize=M&updatedSince=ISO-8601
      {"bordereaux": [...], "page": N, "totalPages": T}; page is 1-based
      (default 1), pageSize 1 to 1,000 (default 50); updatedSince (with its
      zone) keeps the bordereaux whose updatedAt is at or after it. The order
      is updatedAt, then id, so pages are stable while nothing changes. A page
      past the last is empty; no bordereau at all is totalPages 0.
  GET /api/bordereaux/{id}/bulletins
      the bordereau's claims (BS), each with its items.
  PUT /api/bordereaux/{id}/status and PUT /api/bordereaux/{id}/payment
      checked (pushes.py), applied to the claim (its etat; its payment) with
      the bordereau's updatedAt moved forward, and answered 200 with the claim
      and its payment. A push whose body is the same as the last one applied
      to that claim by that endpoint is a repeat: 200 with the same answer,
      nothing changes again, and it is recorded with outcome "repeat". So a
      retried push is harmless, and "the platform received it once" is "one
      push with outcome applied".
Errors are NestJS's: {"statusCode", "message", "error"}, plus "errors":
{field: [messages]} on a 400 for invalid input. With a token (built with
`token=`), a request without `Authorization: Bearer <token>` is 401.
A push is recorded whatever its outcome (applied, repeat, rejected) once it
reaches the API (a 401 does not). The framework's injected errors (503,
429) answer before it does: nothing applied, nothing recorded. Its hang only
delays: the push is applied after the wait, so a client that timed out has
an unknown outcome to reconcile, and its resend is a repeat.

Control endpoints (no token, not counted, no faults), besides the
framework's /_sim/faults, /_sim/reset and /_sim/state:
  POST   /_sim/generate        {"batches", "claims", "items", "seed", "clients",
                                "mode": "replace"|"append", "today"} the generator
  POST   /_sim/change          {"claims": n | "percent": p, "seed", "field":
                                "amount"|"status"|"mixed"} the platform's staff change claims
  POST   /_sim/bordereaux      {"bordereaux": [{..., "bulletins": [...]}]} given records,
                                or the generator's keys: new batches appended
  GET    /_sim/bordereaux/{id} a bordereau with its claims and their payments
  POST   /_sim/invalid         {"kind", "record"?, "claims"?} one bordereau with a defect
  GET    /_sim/pushes          the pushes received (?kind=, ?bsId=, ?outcome=, ?bordereau=)
  DELETE /_sim/pushes          forgets them (not the claims' state)
  GET|POST /_sim/platform-faults {"list_shape", "list_shape_pages", "fail_bulletins"}
  POST   /_sim/advance         {"seconds": n} moves the simulator's clock
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hmac
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from http import HTTPStatus
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

from .generator import (
    CHANGE_FIELDS,
    DEFAULT_SEED,
    apply_defect,
    batch_id,
    change_bulletin,
    defect_for,
    generate_batch,
)
from .pushes import payment_errors, status_errors
from .store import Batch, Store, iso_ms, parse_instant

API = "/api/bordereaux"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# The data set a simulator starts with: enough for a first import to show something.
DEFAULT_BATCHES, DEFAULT_CLAIMS, DEFAULT_ITEMS, DEFAULT_CLIENTS = 5, 4, 3, 3
# What one generation may ask for: 100,000 batches of 1,000 claims is more
# than any benchmark needs, and bounds a typo's cost.
LIMITS = {"batches": (0, 100_000), "claims": (0, 1_000), "items": (0, 50), "clients": (1, 999)}
INVALID_BATCH_CLAIMS = 3

# How the listing answers (the "list_shape" platform fault):
OBJECT = "object"  # {"bordereaux", "page", "totalPages"}
ARRAY = "array"  # every matching bordereau in a bare array: the one and only page
UNEXPECTED = "unexpected"  # JSON of another shape: {"data": [...], "meta": {...}}
HTML = "html"  # a 200 with a proxy's HTML page
TRUNCATED = "truncated"  # the JSON cut in half
LIST_SHAPES = (OBJECT, ARRAY, UNEXPECTED, HTML, TRUNCATED)
PLATFORM_FAULTS = ("list_shape", "list_shape_pages", "fail_bulletins")
# Framework control actions, left to the base class.
PUSH_STATUS, PUSH_PAYMENT = "status", "payment"
APPLIED, REPEAT, REJECTED = "applied", "repeat", "rejected"


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> SimResponse:
        body: dict[str, Any] = {"statusCode": self.status, "message": self.message,
                                "error": HTTPStatus(self.status).phrase}
        if self.errors:
            body["errors"] = self.errors
        return json_response(self.status, body, self.headers)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None
                  ) -> SimResponse:
    # Compact and UTF-8: a page of 50 claims is a third smaller than with the
    # default separators and \u escapes of every accented name.
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return SimResponse(status, body, {"Content-Type": "application/json; charset=utf-8",
                                      **(headers or {})})


def endpoint(method: str, pattern: str):
    """`route()` plus request counting, the bearer token and the error body."""
    label = f"{method} {pattern}"

    def decorate(func: Callable[..., SimResponse]):
        @functools.wraps(func)
        def wrapper(self: TuniclaimSimulator, request: SimRequest) -> SimResponse:
            with self.lock:
                self.endpoint_requests[label] += 1
                try:
                    self._authenticate(request)
                    return func(self, request)
                except ApiError as exc:
                    return exc.response()

        return route(method, pattern)(wrapper)

    return decorate


class TuniclaimSimulator(Simulator):
    """MY TUNICLAIM: bordereaux of claims to list, pushes to receive.

    token: the bearer token every API request must carry ("" for none, as
        the ARS sample runs).
    batches, claims, items, clients, seed: the data set it starts with (and
        goes back to on /_sim/reset); batches=0 starts empty.
    list_shape: how the listing answers (LIST_SHAPES), "object" normally.
    """

    name = "tuniclaim"

    def __init__(
        self,
        *,
        token: str = "",
        batches: int = DEFAULT_BATCHES,
        claims: int = DEFAULT_CLAIMS,
        items: int = DEFAULT_ITEMS,
        clients: int = DEFAULT_CLIENTS,
        seed: int = DEFAULT_SEED,
        list_shape: str = OBJECT,
        faults: FaultKnobs | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed,
                         clock=clock if isinstance(clock, SimClock) else SimClock(clock))
        self.token = token
        self.initial = {"batches": batches, "claims": claims, "items": items,
                        "clients": clients, "seed": seed}
        self.initial_list_shape = _list_shape(list_shape)
        self.store = Store()
        self._clear_state()

    def _clear_state(self) -> None:
        self.clock.reset()
        self.store.clear()
        self.endpoint_requests: Counter[str] = Counter()
        self.list_shape = self.initial_list_shape
        self.list_shape_pages: list[int] = []
        self.fail_bulletins: dict[str, int] = {}
        self._generate(mode="replace", today=self.today(), **self.initial)

    # -- time ----------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def today(self) -> dt.date:
        return self.clock.datetime().date()

    # -- framework hooks -----------------------------------------------------------
    def reset(self) -> None:
        # Back to the data set of construction, no pushes, no platform fault.
        self._clear_state()

    def state(self) -> dict[str, Any]:
        outcomes = Counter(push["outcome"] for push in self.store.pushes)
        return {
            **super().state(),
            "now": iso_ms(self.now_ms()),
            "token_required": bool(self.token),
            **self.store.counts(),
            "pushes": {"received": len(self.store.pushes), APPLIED: outcomes[APPLIED],
                       REPEAT: outcomes[REPEAT], REJECTED: outcomes[REJECTED]},
            "platform_faults": self._platform_faults(),
            "requests_by_endpoint": dict(self.endpoint_requests),
        }

    def not_found(self, request: SimRequest) -> SimResponse:
        return ApiError(404, f"Cannot {request.method} {request.path}").response()

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        # NestJS has no 405: a path without that method is a route it does not know.
        return self.not_found(request)

    def bad_json(self, request: SimRequest) -> SimResponse:
        return ApiError(400, "Unexpected token in JSON body").response()

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        return ApiError(429, "ThrottlerException: Too Many Requests",
                        headers={"Retry-After": str(retry_after)}).response()

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return ApiError(status, "Internal server error" if status == 500
                        else HTTPStatus(status).phrase).response()

    def _authenticate(self, request: SimRequest) -> None:
        if not self.token:
            return
        scheme, _, value = request.header("authorization").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(),
                                                                self.token.encode()):
            raise ApiError(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})

    # -- the API -------------------------------------------------------------------
    @endpoint("GET", API)
    def list_bordereaux(self, request: SimRequest) -> SimResponse:
        page = _query_int(request, "page", 1, 1, None)
        size = _query_int(request, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        since = _query(request, "updatedSince")
        since_ms = None
        if since is not None:
            try:
                since_ms = parse_instant(since)
            except ValueError as exc:
                raise ApiError(400, "Invalid query", {"updatedSince": [
                    f"must be an ISO 8601 date-time with its time zone ({exc})"]}) from exc
        matching = self.store.listing(since_ms)
        shape = self.list_shape
        if self.list_shape_pages and page not in self.list_shape_pages:
            shape = OBJECT
        if shape == ARRAY:
            return json_response(200, [batch.view() for batch in matching])
        chunk = matching[(page - 1) * size:page * size]
        payload = {"bordereaux": [batch.view() for batch in chunk], "page": page,
                   "totalPages": math.ceil(len(matching) / size)}
        if shape == UNEXPECTED:
            return json_response(200, {"data": payload["bordereaux"],
                                       "meta": {"currentPage": page,
                                                "pageCount": payload["totalPages"]}})
        if shape == HTML:
            return SimResponse(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                               {"Content-Type": "text/html"})
        response = json_response(200, payload)
        if shape == TRUNCATED:
            response.body = response.body[:len(response.body) // 2]
        return response

    @endpoint("GET", API + "/{id}/bulletins")
    def list_bulletins(self, request: SimRequest) -> SimResponse:
        batch = self._batch(request.path_params["id"])
        failure = self.fail_bulletins.get(batch.id)
        if failure:
            raise ApiError(failure, "Internal server error" if failure == 500
                           else HTTPStatus(failure).phrase)
        return json_response(200, batch.bulletins())

    @endpoint("PUT", API + "/{id}/status")
    def put_status(self, request: SimRequest) -> SimResponse:
        return self._receive_push(request, PUSH_STATUS)

    @endpoint("PUT", API + "/{id}/payment")
    def put_payment(self, request: SimRequest) -> SimResponse:
        return self._receive_push(request, PUSH_PAYMENT)

    def _batch(self, bordereau_id: str) -> Batch:
        batch = self.store.batches.get(bordereau_id)
        if batch is None:
            raise ApiError(404, f"Bordereau {bordereau_id} not found")
        return batch

    # -- pushes ----------------------------------------------------------------------
    def _receive_push(self, request: SimRequest, kind: str) -> SimResponse:
        now = self.now_ms()
        entry: dict[str, Any] = {
            "sequence": len(self.store.pushes) + 1, "kind": kind,
            "bordereau": request.path_params["id"], "receivedAt": iso_ms(now),
            "body": request.body.decode("utf-8", errors="replace"), "bsId": None,
        }
        try:
            response, outcome = self._apply_push(request, kind, now, entry)
        except ApiError as exc:
            response, outcome = exc.response(), REJECTED
            entry["errors"] = exc.errors or {"": [exc.message]}
        entry.update(status=response.status, outcome=outcome)
        self.store.pushes.append(entry)
        return response

    def _apply_push(self, request: SimRequest, kind: str, now: int,
                    entry: dict[str, Any]) -> tuple[SimResponse, str]:
        try:
            # Decimal for the checks (an amount as the text said it), plain
            # JSON for the record and the repeat comparison. The body is read
            # before the route's bordereau is looked up, as Express does.
            exact = json.loads(request.body, parse_float=Decimal)
            plain = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "Unexpected token in JSON body") from exc
        entry["body"] = plain
        if not isinstance(plain, dict):
            raise ApiError(400, "Validation failed", {"body": ["must be a JSON object"]})
        entry["bsId"] = plain.get("bsId")
        batch = self._batch(request.path_params["id"])
        errors = (status_errors if kind == PUSH_STATUS else payment_errors)(exact)
        names = {batch.id, batch.record.get("reference")} - {None}
        if "bordereauId" not in errors and str(plain["bordereauId"]) not in names:
            errors["bordereauId"] = ["does not name the bordereau of the URL"]
        if errors:
            raise ApiError(400, "Validation failed", errors)
        number = str(plain["bsId"])
        position = batch.find(number)
        if position is None:
            raise ApiError(404, f"BS {number} not found in bordereau {batch.id}")
        canonical = json.dumps(plain, sort_keys=True)
        outcome = REPEAT if batch.last_push.get((kind, number)) == canonical else APPLIED
        if outcome == APPLIED:
            if kind == PUSH_STATUS:
                batch.keep(position)["etat"] = plain["newStatus"]
            else:
                batch.payments[number] = {
                    "paymentStatus": plain["paymentStatus"],
                    "paymentDate": plain.get("paymentDate"),
                    "amount": plain.get("amount"),
                    "virementReference": plain.get("virementReference"),
                    "processedBy": plain["processedBy"],
                    "updatedAt": iso_ms(now),
                }
            batch.last_push[(kind, number)] = canonical
            self.store.touch(batch, now)
        return json_response(200, self._claim_view(batch, position)), outcome

    @staticmethod
    def _claim_view(batch: Batch, position: int) -> dict[str, Any]:
        claim = batch.bulletin(position)
        return {**claim, "payment": batch.payments.get(str(claim.get("numBs")))}

    # -- generation ------------------------------------------------------------------
    def _generate(self, *, mode: str, batches: int, claims: int, items: int, clients: int,
                  seed: int, today: dt.date) -> list[Batch]:
        if mode == "replace":
            self.store.clear_data()
        elif mode != "append":
            raise ValueError("mode must be replace or append")
        now = self.now_ms()
        created = []
        for _ in range(batches):
            sequence = self.store.take_sequence()
            made = generate_batch(seed=seed, sequence=sequence, claims=claims, items=items,
                                  clients=clients, today=today)
            batch = Batch(id=made.id, sequence=sequence, record=made.record, updated_ms=now,
                          claims=claims, items=claims * items, recipe=made.recipe)
            self.store.add(batch)
            created.append(batch)
        return created

    def _generator_options(self, body: dict[str, Any], *, allowed: frozenset[str],
                           defaults: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
        options = {**defaults, **{k: v for k, v in body.items() if k in defaults}}
        for key, (low, high) in LIMITS.items():
            if key in options:
                options[key] = _bounded_int(options[key], key, low, high)
        options["seed"] = _bounded_int(options["seed"], "seed", 0, 2**63)
        today = body.get("today")
        options["today"] = dt.date.fromisoformat(today) if today else self.today()
        return options

    # -- controls ----------------------------------------------------------------------
    @control_route("POST", "/generate")
    def control_generate(self, request: SimRequest) -> SimResponse:
        body = _object(request)
        options = self._generator_options(
            body, allowed=frozenset({*self.initial, "mode", "today"}),
            defaults={**self.initial, "mode": "replace"})
        created = self._generate(**options)
        return json_response(200, {
            "mode": options["mode"], "created": len(created),
            "claims": sum(batch.claims for batch in created),
            "ids": [batch.id for batch in created], **self.store.counts()})

    @control_route("POST", "/change")
    def control_change(self, request: SimRequest) -> SimResponse:
        body = _object(request)
        unknown = set(body) - {"claims", "percent", "seed", "field"}
        if unknown:
            raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
        what = body.get("field", "amount")
        if what not in CHANGE_FIELDS:
            raise ValueError(f"field must be one of: {', '.join(CHANGE_FIELDS)}")
        # Bordereaux carrying a defect stay as they were made, defect included.
        eligible = [batch for batch in self.store.batches.values()
                    if batch.defect is None and batch.claims]
        starts, total = [], 0
        for batch in eligible:
            starts.append(total)
            total += batch.claims
        if ("claims" in body) == ("percent" in body):
            raise ValueError("give claims or percent")
        if "claims" in body:
            count = _bounded_int(body["claims"], "claims", 0, total)
        else:
            percent = float(body["percent"])
            if not 0 <= percent <= 100:
                raise ValueError("percent must be between 0 and 100")
            count = round(total * percent / 100)
        rng = random.Random(_bounded_int(body.get("seed", 1), "seed", 0, 2**63))
        now = self.now_ms()
        changed, touched = [], {}
        for index in sorted(rng.sample(range(total), count)):
            at = bisect.bisect_right(starts, index) - 1
            batch = eligible[at]
            claim = batch.keep(index - starts[at])
            field = change_bulletin(claim, rng, what)
            touched[batch.id] = batch
            changed.append({"id": batch.id, "reference": batch.record.get("reference"),
                            "bsId": claim.get("numBs"), "field": field})
        for batch in touched.values():
            self.store.touch(batch, now)
        return json_response(200, {"changed": len(changed), "bordereaux": len(touched),
                                   "claims": changed})

    @control_route("POST", "/bordereaux")
    def control_add_bordereaux(self, request: SimRequest) -> SimResponse:
        body = _object(request)
        if "bordereaux" not in body:
            options = self._generator_options(
                body, allowed=frozenset({*self.initial, "today"}),
                defaults={**self.initial, "batches": 1})
            created = self._generate(mode="append", **options)
            return json_response(201, {"ids": [batch.id for batch in created]})
        if set(body) != {"bordereaux"} or not isinstance(body["bordereaux"], list):
            raise ValueError('give {"bordereaux": [...]} alone, or the generator\'s keys')
        created = [self._add_given(record) for record in body["bordereaux"]]
        return json_response(201, {"ids": [batch.id for batch in created]})

    def _add_given(self, given: Any) -> Batch:
        """A bordereau exactly as given (a test's own record, defects and all)."""
        if not isinstance(given, dict):
            raise ValueError("each bordereau is a JSON object")
        record = json.loads(json.dumps(given))  # a copy nobody else holds
        claims = record.pop("bulletins", [])
        if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
            raise ValueError("bulletins must be a list of objects")
        updated = record.pop("updatedAt", None)
        sequence = self.store.take_sequence()
        record = {"id": batch_id(f"given-{sequence}"), **record}
        record.setdefault("nombreBS", len(claims))
        batch = Batch(
            id=str(record["id"]), sequence=sequence, record=record,
            updated_ms=parse_instant(updated) if updated else self.now_ms(),
            claims=len(claims), items=sum(len(c.get("items") or []) for c in claims),
            stored=dict(enumerate(claims)))
        self.store.add(batch)
        return batch

    @control_route("GET", "/bordereaux/{id}")
    def control_bordereau(self, request: SimRequest) -> SimResponse:
        batch = self.store.batches.get(request.path_params["id"])
        if batch is None:
            raise ControlError(f"unknown bordereau {request.path_params['id']}", status=404)
        return json_response(200, {
            **batch.view(), "defect": _defect_view(batch),
            "bulletins": [self._claim_view(batch, p) for p in range(batch.claims)]})

    @control_route("POST", "/invalid")
    def control_invalid(self, request: SimRequest) -> SimResponse:
        body = _object(request)
        unknown = set(body) - {"kind", "record", "claims", "seed"}
        if unknown:
            raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
        defect = defect_for(str(body.get("kind")), body.get("record"))
        claims = _bounded_int(body.get("claims", INVALID_BATCH_CLAIMS), "claims", 1,
                              LIMITS["claims"][1])
        seed = _bounded_int(body.get("seed", DEFAULT_SEED), "seed", 0, 2**63)
        [batch] = self._generate(mode="append", batches=1, claims=claims,
                                 items=self.initial["items"] or 1,
                                 clients=self.initial["clients"], seed=seed, today=self.today())
        claim = batch.keep(0)
        number = claim["numBs"]
        apply_defect(defect, batch.record, claim)
        batch.defect = defect
        return json_response(201, {
            "id": batch.id, "reference": batch.record.get("reference"), **_defect_view(batch),
            "bsId": None if defect.record == "bordereau" else claim.get("numBs"),
            "intendedBsId": number})

    @control_route("GET", "/pushes")
    def control_pushes(self, request: SimRequest) -> SimResponse:
        pushes = self.store.pushes
        for key in ("kind", "bsId", "outcome", "bordereau"):
            wanted = _query(request, key)
            if wanted is not None:
                pushes = [push for push in pushes if str(push.get(key)) == wanted]
        return json_response(200, {"count": len(pushes), "pushes": pushes})

    @control_route("DELETE", "/pushes")
    def control_forget_pushes(self, request: SimRequest) -> SimResponse:
        forgotten = len(self.store.pushes)
        self.store.pushes.clear()
        return json_response(200, {"forgotten": forgotten})

    @control_route("GET", "/platform-faults")
    def control_get_platform_faults(self, request: SimRequest) -> SimResponse:
        return json_response(200, self._platform_faults())

    @control_route("POST", "/platform-faults")
    def control_platform_faults(self, request: SimRequest) -> SimResponse:
        body = _object(request)
        unknown = set(body) - set(PLATFORM_FAULTS)
        if unknown:
            raise ValueError(f"unknown platform fault(s): {', '.join(sorted(unknown))}")
        if "list_shape" in body:
            self.list_shape = _list_shape(body["list_shape"])
        if "list_shape_pages" in body:
            pages = body["list_shape_pages"] or []
            self.list_shape_pages = [_bounded_int(p, "list_shape_pages", 1, None)
                                     for p in pages]
        if "fail_bulletins" in body:
            failing = body["fail_bulletins"] or {}
            if isinstance(failing, list):
                failing = dict.fromkeys(failing, 500)
            self.fail_bulletins = {str(key): _bounded_int(status, "fail_bulletins", 400, 599)
                                   for key, status in failing.items()}
        return json_response(200, self._platform_faults())

    def _platform_faults(self) -> dict[str, Any]:
        return {"list_shape": self.list_shape, "list_shape_pages": list(self.list_shape_pages),
                "fail_bulletins": dict(self.fail_bulletins)}

    @control_route("POST", "/advance")
    def control_advance(self, request: SimRequest) -> SimResponse:
        seconds = float(_object(request).get("seconds", 0))
        self.clock.advance(seconds)
        return json_response(200, {"now": iso_ms(self.now_ms())})


# -- helpers ------------------------------------------------------------------------------

def _object(request: SimRequest) -> dict[str, Any]:
    body = request.json()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _query(request: SimRequest, name: str) -> str | None:
    values = request.query.get(name)
    return values[-1] if values else None


def _query_int(request: SimRequest, name: str, default: int, low: int,
               high: int | None) -> int:
    value = _query(request, name)
    if value is None:
        return default
    try:
        return _bounded_int(value, name, low, high)
    except ValueError as exc:
        raise ApiError(400, "Invalid query", {name: [str(exc)]}) from exc


def _bounded_int(value: Any, name: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {bound}")
    return number


def _list_shape(value: Any) -> str:
    if value not in LIST_SHAPES:
        raise ValueError(f"list_shape must be one of: {', '.join(LIST_SHAPES)}")
    return value


def _defect_view(batch: Batch) -> dict[str, Any] | None:
    defect = batch.defect
    if defect is None:
        return None
    return {"kind": defect.kind, "record": defect.record, "field": defect.field,
            "value": defect.value}
