"""The Symphonics API as the hub sees it: routes, auth, limits and errors.

Paths are those of the contract relative to the base URL. Every response
carries `X-Request-ID: req_<12 hex>`; every error body is the contract's
`{"error": {"code", "message", "details": [{"field", "message"}],
"request_id"}}` with the same request id, except where the contract shows
a flat body for one endpoint (PDL validation 400, user validation 404),
which is kept.

Authentication: `POST /auth/token` (form-encoded client credentials) gives an
opaque Bearer token valid `token_lifetime_seconds` on the simulator's clock.
Every other endpoint answers 401 UNAUTHORIZED without a valid, unexpired
token.

Rate limits (sliding windows, see ratelimit.py): `per_minute_limit` per
`window_seconds` and `per_day_limit` per `day_window_seconds`, per client.
Every API response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (Unix seconds, rounded up) for the binding window; past
the limit the answer is 429 RATE_LIMITED with `Retry-After` (whole seconds
until a slot frees, at least 1). Inferred, as the contract does not say:
the token endpoint is not counted (it belongs to the OAuth server, not the
rate-limited API, and carries no such headers); a request refused 401 is
not counted either but shows the client's current window; a request
refused 429 does not use a slot.

Inferred extensions beyond the contract, for the hub's needs:
  GET /crm/interventions?external_id=...  {"items": [...]} so a create whose
      outcome is unknown (timeout after sending) can be reconciled;
  409 CONFLICT on a duplicate external_id names the existing intervention in
      details[0]["existing_id"] (and in the message);
  GET /crm/interventions/{id} also lists `documents` with their
      `verification_status`;
  a PATCH re-sending a document url already on the intervention does not
      add it twice; PATCH on an approved or rejected intervention is 409;
  GET /validation/pdl/{pdl} adds `customer_type`; the sandbox's invalid PDL
      answers the contract's flat 400 with "error": "Invalid PDL".
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from apps.core.simulator import (
    CONTROL_PREFIX,
    FaultKnobs,
    SimRequest,
    SimResponse,
    Simulator,
    route,
)
from apps.core.simulator_kit.clock import SimClock
from apps.core.simulator_kit.oauth import (
    ClientSecrets,
    OAuthError,
    TokenRejected,
    TokenServer,
)
from apps.core.simulator_kit.worker import BackgroundWorker

from . import sandbox
from .lifecycle import Document, Intervention, Lifecycle, isoformat_z
from .ratelimit import RateDecision, SlidingWindowLimiter, Window
from .validation import (
    EMAIL_RE,
    PDL_RE,
    Details,
    validate_intervention,
    validate_lookup,
    validate_update,
)
from .webhooks import encode_event, symphonics_sender

logger = logging.getLogger(__name__)

ERROR_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "INVALID_REQUEST",  # the contract has no code of its own for it
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}
OAUTH_PATH = "/auth/token"
WORKER_TICK_SECONDS = 0.02
SECONDS_PER_DAY_PER_MINUTE = 24 * 60  # a day is 1,440 minute-windows

DocumentRule = str | Callable[[Document], bool] | None
# Why a bearer token was refused, in the contract's words.
TOKEN_REFUSALS = {
    "missing": "Missing bearer token",
    "invalid": "Invalid access token",
    "expired": "Access token expired",
}


class ApiError(Exception):
    """Raised by a handler to answer with the contract's error body."""

    def __init__(self, status: int, message: str, details: Details | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def endpoint(method: str, pattern: str, *, authenticated: bool = True):
    """`route()` plus request counting, Bearer auth, rate limit and error mapping."""
    label = f"{method} {pattern}"

    def decorate(func: Callable[[Any, SimRequest], SimResponse]):
        @functools.wraps(func)
        def wrapper(self: SymphonicsSimulator, request: SimRequest) -> SimResponse:
            return self._serve_endpoint(label, func, request, authenticated)

        return route(method, pattern)(wrapper)

    return decorate


def _token_error(exc: OAuthError) -> ApiError:
    """The contract's error body for a refused token request."""
    if exc.missing:
        return ApiError(400, "Missing required parameters", [
            {"field": key, "message": "This field is required"} for key in exc.missing])
    if exc.error == "unsupported_grant_type":
        return ApiError(400, "Unsupported grant_type", [
            {"field": "grant_type", "message": "Only client_credentials is supported"}])
    if exc.error == "invalid_client":
        return ApiError(401, "Invalid client credentials")
    return ApiError(400, exc.description)


def document_matcher(rule: DocumentRule) -> Callable[[Document], bool]:
    """A substring (in the name or url, any case), a predicate, or never."""
    if rule is None:
        return lambda document: False
    if callable(rule):
        return rule
    needle = rule.casefold()
    return lambda document: needle in document.name.casefold() or needle in document.url.casefold()


class SymphonicsSimulator(Simulator):
    name = "symphonics"

    def __init__(
        self,
        *,
        client_id: str = "simulator-client",
        client_secret: str = "simulator-secret",  # noqa: S107 - a local stand-in's default
        webhook_secret: str = "simulator-webhook-secret",  # noqa: S107
        hub_webhook_url: str | None = None,
        token_lifetime_seconds: int = 3600,
        per_minute_limit: int = 100,
        per_day_limit: int = 5000,
        window_seconds: float = 60.0,
        day_window_seconds: float | None = None,
        processing_delay_seconds: float = 2.0,
        verification_delay_seconds: float = 2.0,
        reject_document_rule: DocumentRule = "reject",
        reject_external_ids: Iterable[str] = (),
        duplicate_webhooks: bool = False,
        webhook_max_attempts: int = 4,
        webhook_retry_seconds: float = 0.5,
        webhook_timeout_seconds: float = 5.0,
        webhook_delay_seconds: float = 0.0,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed,
                         clock=clock if isinstance(clock, SimClock) else SimClock(clock))
        self.client_id = client_id
        self.client_secret = client_secret
        # Form-encoded client credentials only; an expired token is forgotten
        # at the next issue (from then on it is "invalid", not "expired").
        self.tokens = TokenServer(
            ClientSecrets({client_id: client_secret}, allow_basic=False),
            token_lifetime_seconds=token_lifetime_seconds, remember_expired_seconds=0)
        # A scaled minute scales the day with it, unless told otherwise.
        day = day_window_seconds or window_seconds * SECONDS_PER_DAY_PER_MINUTE
        self.limiter = SlidingWindowLimiter(
            [Window(per_minute_limit, window_seconds), Window(per_day_limit, day)]
        )
        self.lifecycle = Lifecycle(
            processing_delay=processing_delay_seconds,
            verification_delay=verification_delay_seconds,
            rejects_document=document_matcher(reject_document_rule),
            reject_external_ids=frozenset(reject_external_ids),
            emit=self._emit,
        )
        self.webhooks = None if not hub_webhook_url else symphonics_sender(
            hub_webhook_url,
            webhook_secret,
            max_attempts=webhook_max_attempts,
            retry_seconds=webhook_retry_seconds,
            timeout_seconds=webhook_timeout_seconds,
            delay_seconds=webhook_delay_seconds,
            duplicate=duplicate_webhooks,
        )
        self._context = threading.local()  # the current request's id, per server thread
        self.worker = BackgroundWorker(self._background_step, name="sim-symphonics-webhooks",
                                       tick=WORKER_TICK_SECONDS)
        self._clear_state()

    def _clear_state(self) -> None:
        self.clock.reset()
        self.tokens.reset()
        self.endpoint_requests: Counter[str] = Counter()
        self.rate_limited_count = 0
        self.events: list[dict[str, Any]] = []
        self.limiter.clear()
        self.lifecycle.clear()
        if self.webhooks is not None:
            self.webhooks.clear()

    # -- time and the background worker --------------------------------------
    def now(self) -> float:
        return self.clock()

    def advance(self, seconds: float = 0.0) -> int:
        """Move simulated time forward, then apply the lifecycle steps now due."""
        with self.lock:
            self.clock.advance(seconds)
            return self.run_due()

    @property
    def token_lifetime_seconds(self) -> int:
        return self.tokens.token_lifetime_seconds

    @token_lifetime_seconds.setter
    def token_lifetime_seconds(self, seconds: int) -> None:
        # Tests change it on a running simulator.
        self.tokens.token_lifetime_seconds = seconds

    @property
    def token_requests(self) -> int:
        return self.tokens.counters.requests

    @property
    def tokens_issued(self) -> int:
        return self.tokens.counters.issued

    def run_due(self) -> int:
        """Apply due lifecycle steps now (events are queued, not sent)."""
        with self.lock:
            return self.lifecycle.run_due(self.now())

    def deliver_webhooks(self) -> int:
        """Send the queued webhooks that are due, on the calling thread."""
        return self.webhooks.deliver_due() if self.webhooks is not None else 0

    def close(self) -> None:
        """Stop the background worker (started by the first create)."""
        self.worker.close()

    def _ensure_worker(self) -> None:
        # Only webhooks need a worker: GETs evaluate the lifecycle themselves.
        if self.webhooks is not None:
            self.worker.start()

    def _background_step(self) -> None:
        self.run_due()
        self.deliver_webhooks()

    def _emit(self, event: str, at: float, data: dict[str, Any]) -> None:
        event_id = f"evt_{secrets.token_hex(12)}"
        timestamp = isoformat_z(at)
        self.events.append({"id": event_id, "event": event, "timestamp": timestamp,
                            "data": data})
        if self.webhooks is not None:
            self.webhooks.submit(event_id, event, encode_event(event, timestamp, data))

    # -- framework hooks -----------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        self._context.request_id = self._new_request_id()
        if request.method == "POST" and request.path.rstrip("/") == CONTROL_PREFIX + "advance":
            response = self._control_advance(request)
        else:
            response = super().handle(request)
        response.headers.setdefault("X-Request-ID", self._request_id())
        if self._is_rate_limited_path(request.path) and "X-RateLimit-Limit" not in response.headers:
            with self.lock:
                response.headers.update(self.limiter.peek(self.client_id, self.now()).headers())
        return response

    def reset(self) -> None:
        self._clear_state()

    def state(self) -> dict[str, Any]:
        with self.lock:
            self.lifecycle.run_due(self.now())
            webhook_counts = self.webhooks.counts() if self.webhooks else {}
            return {
                **super().state(),
                "now": isoformat_z(self.now()),
                "token_requests": self.token_requests,
                "tokens_issued": self.tokens_issued,
                "requests_by_endpoint": dict(self.endpoint_requests),
                "rate_limited": self.rate_limited_count,
                "interventions": [
                    {**item.view(), "history": item.history, "payload": item.payload}
                    for item in self.lifecycle.interventions.values()
                ],
                "events": self.events,
                "webhooks": {
                    "url": self.webhooks.url if self.webhooks else None,
                    "sent": webhook_counts.get("delivered", 0),
                    **webhook_counts,
                    "deliveries": self.webhooks.summaries() if self.webhooks else [],
                },
            }

    def not_found(self, request: SimRequest) -> SimResponse:
        return self._error(ApiError(404, f"No resource at {request.method} {request.path}"))

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        return self._error(ApiError(405, f"Method {request.method} not allowed on {request.path}"))

    def bad_json(self, request: SimRequest) -> SimResponse:
        return self._error(ApiError(400, "Malformed JSON body"))

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        with self.lock:
            self.rate_limited_count += 1
        return self._error(ApiError(429, "Too many requests, please retry later",
                                    headers={"Retry-After": str(retry_after)}))

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        body = self._error_body("SERVER_ERROR", "An unexpected error occurred on the server", [])
        return SimResponse.json(status, body)

    # -- plumbing ------------------------------------------------------------
    def _serve_endpoint(self, label: str, func: Callable[[Any, SimRequest], SimResponse],
                        request: SimRequest, authenticated: bool) -> SimResponse:
        # One lock around each request: the state is small and in memory, and
        # it keeps the rate limit exact under concurrent clients.
        with self.lock:
            self.endpoint_requests[label] += 1
            decision: RateDecision | None = None
            try:
                if authenticated:
                    decision = self._admit(request)
                    self.lifecycle.run_due(self.now())
                response = func(self, request)
            except ApiError as exc:
                response = self._error(exc)
            except Exception:
                logger.exception("Symphonics simulator crashed on %s", label)
                response = self.server_error(request, 500)
            if decision is not None:
                response.headers.update(decision.headers())
            return response

    def _admit(self, request: SimRequest) -> RateDecision:
        """Authenticate, then take a rate-limit slot for the token's client."""
        client_id = self._authenticate(request)
        decision = self.limiter.acquire(client_id, self.now())
        if not decision.allowed:
            self.rate_limited_count += 1
            raise ApiError(429, "Too many requests, please retry later", headers={
                **decision.headers(), "Retry-After": decision.retry_after_header()})
        return decision

    def _authenticate(self, request: SimRequest) -> str:
        try:
            return self.tokens.authenticate(request.header("Authorization"), self.now()).client_id
        except TokenRejected as exc:
            raise self._unauthorized(TOKEN_REFUSALS[exc.reason]) from exc

    @staticmethod
    def _unauthorized(message: str) -> ApiError:
        return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="symphonics"'})

    def _error(self, exc: ApiError) -> SimResponse:
        code = ERROR_CODES.get(exc.status, "SERVER_ERROR")
        return SimResponse.json(exc.status, self._error_body(code, exc.message, exc.details),
                                headers=exc.headers)

    def _error_body(self, code: str, message: str, details: Details) -> dict[str, Any]:
        return {"error": {"code": code, "message": message, "details": details,
                          "request_id": self._request_id()}}

    def _new_request_id(self) -> str:
        with self.lock:  # self.random is shared by the server threads
            return f"req_{self.random.getrandbits(48):012x}"

    def _request_id(self) -> str:
        request_id = getattr(self._context, "request_id", None)
        if request_id is None:  # a hook called outside handle()
            request_id = self._context.request_id = self._new_request_id()
        return request_id

    @staticmethod
    def _is_rate_limited_path(path: str) -> bool:
        return not path.startswith(CONTROL_PREFIX) and path.rstrip("/") != OAUTH_PATH

    @staticmethod
    def _json_object(request: SimRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
            raise ApiError(400, "Malformed JSON body") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return body

    @staticmethod
    def _validation_error(details: Details) -> ApiError:
        message = details[0]["message"] if len(details) == 1 else (
            f"{len(details)} fields failed validation")
        return ApiError(422, message, details)

    def _new_intervention_id(self) -> str:
        while True:
            candidate = f"sym_{self.random.randrange(10**8):08d}"
            if candidate not in self.lifecycle.interventions:
                return candidate

    def _control_advance(self, request: SimRequest) -> SimResponse:
        """POST /_sim/advance {"seconds": N}: skip simulated time ahead."""
        try:
            seconds = float((request.json() or {}).get("seconds", 0))
        except (ValueError, TypeError, AttributeError):
            return SimResponse.json(400, {"error": "expected {\"seconds\": <number>}"})
        applied = self.advance(seconds)
        return SimResponse.json(200, {"applied": applied, "now": isoformat_z(self.now())})

    # -- authentication ------------------------------------------------------
    @endpoint("POST", OAUTH_PATH, authenticated=False)
    def issue_token(self, request: SimRequest) -> SimResponse:
        try:
            form: dict[str, str] | None = request.form()
        except UnicodeDecodeError:
            form = None
        try:
            payload = self.tokens.exchange(form, request.headers, self.now())
        except OAuthError as exc:
            raise _token_error(exc) from exc
        return SimResponse.json(200, payload, headers={"Cache-Control": "no-store"})

    # -- validation ----------------------------------------------------------
    @endpoint("GET", "/validation/pdl/{pdl}")
    def validate_pdl(self, request: SimRequest) -> SimResponse:
        pdl = unquote(request.path_params["pdl"])
        if not PDL_RE.fullmatch(pdl):
            return SimResponse.json(400, {"valid": False, "error": "Invalid PDL format",
                                          "message": "PDL must be 14 digits"})
        if pdl in sandbox.INVALID_PDLS:
            return SimResponse.json(400, {"valid": False, "pdl": pdl, "error": "Invalid PDL",
                                          "message": "PDL is not a valid delivery point"})
        item = sandbox.VALID_PDLS.get(pdl)
        if item is None:
            raise ApiError(404, f"PDL {pdl} not found",
                           [{"field": "pdl", "message": "Unknown delivery point"}])
        return SimResponse.json(200, {"valid": True, "pdl": pdl, "address": item.address(),
                                      "meter_type": item.meter_type,
                                      "customer_type": item.customer_type})

    @endpoint("POST", "/validation/pdl/lookup")
    def lookup_pdl(self, request: SimRequest) -> SimResponse:
        body = self._json_object(request)
        if details := validate_lookup(body):
            raise self._validation_error(details)
        match = sandbox.lookup_pdl(body["address"], body["customer_name"])
        if match is None:
            raise ApiError(404, "No PDL found for this address")
        item, confidence = match
        return SimResponse.json(200, {"pdl": item.pdl, "confidence": confidence,
                                      "address": item.address(), "meter_type": item.meter_type})

    @endpoint("GET", "/validation/user/{email}")
    def validate_user(self, request: SimRequest) -> SimResponse:
        email = unquote(request.path_params["email"])
        if not EMAIL_RE.fullmatch(email):
            raise ApiError(400, "Invalid email address",
                           [{"field": "email", "message": "Invalid email address"}])
        user = sandbox.find_user(email)
        if user is None:
            return SimResponse.json(404, {"exists": False, "message": "User not found"})
        return SimResponse.json(200, {"exists": True, "user_id": user.user_id,
                                      "status": user.status})

    # -- CRM -----------------------------------------------------------------
    @endpoint("POST", "/crm/interventions")
    def create_intervention(self, request: SimRequest) -> SimResponse:
        body = self._json_object(request)
        if details := validate_intervention(body):
            raise self._validation_error(details)
        existing = self.lifecycle.find_by_external_id(body["external_id"])
        if existing is not None:
            message = (f"An intervention with external_id {existing.external_id} "
                       f"already exists: {existing.id}")
            raise ApiError(409, message, [{"field": "external_id", "message": message,
                                           "existing_id": existing.id}])
        intervention = self.lifecycle.create(self._new_intervention_id(), body, self.now())
        self._ensure_worker()
        return SimResponse.json(201, {
            "id": intervention.id,
            "status": "created",
            "external_id": intervention.external_id,
            "created_at": isoformat_z(intervention.created_at),
        }, headers={"Location": f"/crm/interventions/{intervention.id}"})

    # Inferred: not in the contract. The hub needs it to find out whether a
    # create whose answer was lost went through.
    @endpoint("GET", "/crm/interventions")
    def find_interventions(self, request: SimRequest) -> SimResponse:
        external_id = (request.query.get("external_id") or [""])[-1]
        if not external_id:
            raise ApiError(400, "The external_id query parameter is required",
                           [{"field": "external_id", "message": "This field is required"}])
        found = self.lifecycle.find_by_external_id(external_id)
        return SimResponse.json(200, {"items": [found.view()] if found else []})

    @endpoint("GET", "/crm/interventions/{id}")
    def get_intervention(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, self._intervention(request).view())

    @endpoint("PATCH", "/crm/interventions/{id}")
    def update_intervention(self, request: SimRequest) -> SimResponse:
        intervention = self._intervention(request)
        body = self._json_object(request)
        if details := validate_update(body):
            raise self._validation_error(details)
        if not intervention.accepts_documents():
            raise ApiError(409, f"Intervention {intervention.id} is {intervention.status} "
                                "and can no longer be updated")
        self.lifecycle.add_documents(intervention, body["documents"], self.now())
        return SimResponse.json(200, {
            "id": intervention.id,
            "status": "updated",
            "external_id": intervention.external_id,
            "updated_at": isoformat_z(intervention.updated_at),
        })

    def _intervention(self, request: SimRequest) -> Intervention:
        intervention = self.lifecycle.interventions.get(request.path_params["id"])
        if intervention is None:
            raise ApiError(404, f"Intervention {request.path_params['id']} not found")
        return intervention
