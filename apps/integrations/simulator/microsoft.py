"""A local stand-in for Microsoft 365: the identity platform and Graph v1.0 calendars.

`build()` is the factory of settings.SIMULATORS["microsoft"]; tests construct
`MicrosoftSimulator` directly (tests/integrations/microsoft_fixtures.py).
The pieces: microsoft_identity.py (authorize and token, AAD's errors),
microsoft_calendar.py (the mailbox: events, Teams meetings, delta rounds),
microsoft_subscriptions.py (change notifications). The settings' default
URLs name its paths: MICROSOFT_AUTH_URL and MICROSOFT_TOKEN_URL under
`/common/oauth2/v2.0/`, MICROSOFT_API_URL is `/v1.0`; there is no revoke URL.

Identity routes: microsoft_identity.py (authorize, token, and the id_token's
keys at /{tenant}/discovery/v2.0/keys).

Graph routes (a bearer token from the token endpoint; reads need
Calendars.Read or Calendars.ReadWrite, writes Calendars.ReadWrite, /me
User.Read):
  GET    /v1.0/me                                  id, displayName, mail, userPrincipalName
  GET    /v1.0/me/calendar | /me/calendars | /me/calendars/{id}
  GET    /v1.0/me/events | /me/calendar/events | /me/calendars/{id}/events   ($top, $skip)
  POST   /v1.0/me/events | /me/calendar/events | /me/calendars/{id}/events   201 (transactionId)
  GET    /v1.0/me/events/{id}                      (PATCH 200, DELETE 204)
  GET    /v1.0/me/calendarView/delta?startDateTime&endDateTime     (and /me/calendars/{id}/…)
  POST|GET|PATCH|DELETE /v1.0/subscriptions[/{id}]                 (microsoft_subscriptions)
Times are answered in UTC unless `Prefer: outlook.timezone="…"`; delta and
lists page with `Prefer: odata.maxpagesize=N` (answered `Preference-Applied`).

Graph's errors are {"error": {"code", "message", "innerError": {"date",
"request-id", "client-request-id"}}} [V: Graph error responses], with
`request-id` and `client-request-id` headers:
  401 InvalidAuthenticationToken  no, unknown or expired token (with WWW-Authenticate)
  403 ErrorAccessDenied           a token without the scope the call needs
  404 ErrorItemNotFound           an unknown event or calendar
  400 RequestBodyRead             an unknown property, a value outside an enumeration
  410 syncStateNotFound | resyncRequired   a delta token expired or reset
  429 TooManyRequests | ApplicationThrottled   with Retry-After [V2: codes as
      reported by Graph users; Outlook counts 10,000 requests per 10 minutes
      per application and mailbox, the default quota here]

Controls (not counted, not throttled), besides /_sim/faults, /_sim/reset
and /_sim/state:
  POST   /_sim/advance        {"seconds"}: the simulator's clock jumps ahead
  POST   /_sim/identity       {"consent": approve|deny, "refresh_token_reuse": allowed|refused}
  POST   /_sim/revoke         {"access_tokens": bool}: every refresh token revoked
                              (AADSTS50173), access tokens too if asked
  POST   /_sim/throttle       {"next": n, "code", "retry_after", "limit", "window_seconds"}:
                              the next n Graph calls answered 429; the quota
  POST   /_sim/delta/reset    {"code": syncStateNotFound|resyncRequired}: every
                              delta token issued so far answers 410
  GET    /_sim/events         the mailbox's events, with who made them
  POST   /_sim/events         the mailbox owner creates an event ({"calendarId"?, …event})
  PATCH  /_sim/events/{id}    the owner changes it;  DELETE: the owner deletes it
  POST   /_sim/calendars      {"name"}: a second calendar
Changes made through the controls are notified like any other.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from apps.core.simulator import (
    FaultKnobs,
    SimRequest,
    SimResponse,
    Simulator,
    control_route,
    route,
)
from apps.core.simulator_kit.clock import SimClock
from apps.core.simulator_kit.oauth import TokenRejected
from apps.core.simulator_kit.worker import BackgroundWorker

from .microsoft_calendar import (
    DeltaState,
    Event,
    GraphError,
    Mailbox,
    parse_instant,
    preferred_page_size,
    preferred_zone,
)
from .microsoft_identity import (
    AUTHORIZE_PATH,
    KEYS_PATH,
    TOKEN_PATH,
    AadError,
    IdentityPlatform,
    aad_error_response,
)
from .microsoft_subscriptions import (
    Subscriptions,
    parse_create,
    parse_expiration,
    validate_endpoint,
)

logger = logging.getLogger(__name__)

API = "/v1.0"
CLIENT_ID = "simulator-microsoft-client"
CLIENT_SECRET = "simulator-microsoft-secret"  # noqa: S105 - the simulator's public default
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER_ID = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
WORKER_TICK_SECONDS = 0.02
DEFAULT_LIST_PAGE = 10
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
READ_SCOPES = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
WRITE_SCOPES = frozenset({"Calendars.ReadWrite"})


def graph(method: str, pattern: str, *, scopes: frozenset[str]):
    """A Graph route: the bearer token, its scope, the quota and Graph's error body."""

    def decorate(func: Callable[..., SimResponse]):
        @functools.wraps(func)
        def wrapper(self: MicrosoftSimulator, request: SimRequest) -> SimResponse:
            return self._serve_graph(func, request, scopes)

        return route(method, API + pattern)(wrapper)

    return decorate


class MicrosoftSimulator(Simulator):
    """Microsoft 365 for one tenant, one application and one mailbox.

    clients: application (client) id -> secret; redirect_uris: client id ->
        registered URIs (None: any http(s) URI is accepted).
    throttle_limit / throttle_window_seconds: Graph calls per application
        and mailbox before 429 (Outlook's 10,000 per 10 minutes).
    max_subscription_minutes: the longest subscription (module docstring of
        microsoft_subscriptions).
    """

    name = "microsoft"

    def control_error(self, exc: Exception) -> SimResponse | None:
        if isinstance(exc, GraphError):
            return SimResponse.json(exc.status, {"error": exc.message, "code": exc.code})
        return None

    def __init__(
        self,
        *,
        clients: dict[str, str] | None = None,
        redirect_uris: dict[str, list[str]] | None = None,
        tenant_id: str = TENANT_ID,
        user_id: str = USER_ID,
        display_name: str = "Megan Bowen",
        mail: str = "MeganB@contoso.onmicrosoft.com",
        token_lifetime_seconds: int = 3599,
        delta_token_lifetime_seconds: float = 7 * 24 * 3600,
        throttle_limit: int = 10_000,
        throttle_window_seconds: float = 600.0,
        max_subscription_minutes: int = 10_070,
        require_https_notification_url: bool = False,
        validation_timeout_seconds: float = 10.0,
        notification_max_attempts: int = 4,
        notification_retry_seconds: float = 0.5,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed,
                         clock=clock if isinstance(clock, SimClock) else SimClock(clock))
        self.identity = IdentityPlatform(
            tenant_id=tenant_id, clients=clients or {CLIENT_ID: CLIENT_SECRET},
            redirect_uris=redirect_uris, token_lifetime_seconds=token_lifetime_seconds,
            user={"id": user_id, "name": display_name, "mail": mail})
        self.mailbox = Mailbox(user_id=user_id, tenant_id=tenant_id, display_name=display_name,
                               mail=mail, delta_token_lifetime_seconds=delta_token_lifetime_seconds)
        self.subscriptions = Subscriptions(max_attempts=notification_max_attempts,
                                           retry_seconds=notification_retry_seconds,
                                           clock=self.clock)
        self.initial_throttle = (throttle_limit, throttle_window_seconds)
        self.max_subscription_minutes = max_subscription_minutes
        self.require_https_notification_url = require_https_notification_url
        self.validation_timeout_seconds = validation_timeout_seconds
        self.worker = BackgroundWorker(self._background_step, name="sim-microsoft-notifications",
                                       tick=WORKER_TICK_SECONDS)
        self._clear_state()

    def _clear_state(self) -> None:
        self.clock.reset()
        self.identity.reset()
        self.mailbox.clear()
        self.subscriptions.clear()
        self.throttle_limit, self.throttle_window_seconds = self.initial_throttle
        self.throttle_next = 0
        self.throttle_code = "TooManyRequests"
        self.throttle_retry_after = 10
        # Outlook counts per application and mailbox: one log per client id.
        self.graph_calls: dict[str, deque[float]] = {}
        self.throttled = 0
        self.validations = 0

    # -- time and the notification worker --------------------------------------
    def now(self) -> dt.datetime:
        return self.clock.datetime()

    def deliver_notifications(self) -> int:
        """Send the due notifications of every subscription on the calling thread."""
        with self.lock:
            senders = self.subscriptions.senders()
        return sum(sender.deliver_due() for sender in senders)

    def close(self) -> None:
        """Stop the notification worker (started by the first notification)."""
        self.worker.close()

    def _background_step(self) -> None:
        # Outside the lock: the hub may call Graph back while it handles one.
        self.deliver_notifications()

    def _changed(self, event: Event, change_type: str) -> None:
        if self.subscriptions.notify(self.mailbox, event, change_type, self.now()):
            self.worker.start()

    # -- framework hooks ------------------------------------------------------------
    def reset(self) -> None:
        self._clear_state()

    def state(self) -> dict[str, Any]:
        return {**super().state(), "now": self.now().isoformat(),
                "identity": self.identity.state(), "mailbox": self.mailbox.state(),
                "subscriptions": self.subscriptions.state(self.mailbox),
                "throttle": {"limit": self.throttle_limit,
                             "window_seconds": self.throttle_window_seconds,
                             "next": self.throttle_next, "code": self.throttle_code,
                             "throttled": self.throttled},
                "validations": self.validations}

    def not_found(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(API + "/"):
            segment = request.path[len(API) + 1:].split("/")[-1]
            return self._graph_error(request, GraphError(
                400, "BadRequest", f"Resource not found for the segment '{segment}'."))
        return SimResponse.json(404, {"error": "not_found", "path": request.path})

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        return self._graph_error(request, GraphError(
            405, "BadRequest", "Specified HTTP method is not allowed for the request target."))

    def bad_json(self, request: SimRequest) -> SimResponse:
        return self._graph_error(request, GraphError(
            400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                               "header is set and payload is of valid JSON format."))

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        if not request.path.startswith(API + "/"):
            return aad_error_response(AadError(
                "temporarily_unavailable", 90036, "The server is temporarily unavailable; try "
                "again later.", status=429), self.clock())
        return self._graph_error(request, GraphError(
            429, "TooManyRequests", "Too many requests.",
            headers={"Retry-After": str(retry_after)}))

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        if not request.path.startswith(API + "/"):
            return aad_error_response(AadError(
                "temporarily_unavailable", 90036, "The server is temporarily unavailable; try "
                "again later.", status=status), self.clock())
        return self._graph_error(request, GraphError(
            status, "serviceNotAvailable", "The service is not available. Try the request "
                                           "again after a delay."))

    # -- Graph plumbing ---------------------------------------------------------
    def _graph_error(self, request: SimRequest, exc: GraphError) -> SimResponse:
        request_id = str(uuid.uuid4())
        client_request_id = request.header("client-request-id") or request_id
        body = {"error": {"code": exc.code, "message": exc.message, "innerError": {
            "date": self.now().strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id, "client-request-id": client_request_id}}}
        return SimResponse.json(exc.status, body, headers={
            "request-id": request_id, "client-request-id": client_request_id, **exc.headers})

    def _serve_graph(self, func: Callable[..., SimResponse], request: SimRequest,
                     scopes: frozenset[str]) -> SimResponse:
        try:
            token = self._authenticate(request)
            self._take_quota(token.client_id)
            if scopes and not token.scopes & scopes:
                if scopes == {"User.Read"}:
                    raise GraphError(403, "Authorization_RequestDenied",
                                     "Insufficient privileges to complete the operation.")
                raise GraphError(403, "ErrorAccessDenied",
                                 "Access is denied. Check credentials and try again.")
            response = func(self, request, token.client_id)
        except GraphError as exc:
            return self._graph_error(request, exc)
        request_id = str(uuid.uuid4())
        response.headers.setdefault("request-id", request_id)
        response.headers.setdefault("client-request-id",
                                    request.header("client-request-id") or request_id)
        return response

    def _authenticate(self, request: SimRequest):
        authorization = request.header("authorization")
        try:
            return self.identity.tokens.authenticate(authorization, self.clock())
        except TokenRejected as exc:
            message = {"missing": "Access token is empty.",
                       "expired": "Lifetime validation failed, the token is expired."
                       }.get(exc.reason, "Access token validation failure. Invalid audience.")
            raise GraphError(401, "InvalidAuthenticationToken", message, headers={
                "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.'
                                    'microsoftonline.com/common/oauth2/authorize", '
                                    f'client_id="{GRAPH_APP_ID}"'}) from None

    def _take_quota(self, client_id: str) -> None:
        now = self.clock()
        with self.lock:
            if self.throttle_next > 0:
                self.throttle_next -= 1
                self.throttled += 1
                raise GraphError(429, self.throttle_code, _throttle_message(self.throttle_code),
                                 headers={"Retry-After": str(self.throttle_retry_after)})
            calls = self.graph_calls.setdefault(client_id, deque())
            while calls and calls[0] <= now - self.throttle_window_seconds:
                calls.popleft()
            if self.throttle_limit and len(calls) >= self.throttle_limit:
                self.throttled += 1
                wait = max(1, int(calls[0] + self.throttle_window_seconds - now + 0.999))
                raise GraphError(429, "ApplicationThrottled",
                                 "Application is over its request limit for this mailbox.",
                                 headers={"Retry-After": str(wait)})
            calls.append(now)

    def _api_url(self, path: str, params: dict[str, str]) -> str:
        # Graph writes its system query options with a bare `$` ("?$skiptoken=…").
        return f"{self.base_url}{API}{path}?{urlencode(params, safe='$:')}"

    # -- identity -----------------------------------------------------------------
    @route("GET", AUTHORIZE_PATH)
    def authorize(self, request: SimRequest) -> SimResponse:
        return self.identity.authorize(request, self.clock())

    @route("POST", TOKEN_PATH)
    def token(self, request: SimRequest) -> SimResponse:
        return self.identity.token(request, self.clock())

    @route("GET", KEYS_PATH)
    def signing_keys(self, request: SimRequest) -> SimResponse:
        return self.identity.keys()

    # -- /me and calendars ------------------------------------------------------
    @graph("GET", "/me", scopes=frozenset({"User.Read"}))
    def me(self, request: SimRequest, client_id: str) -> SimResponse:
        box = self.mailbox
        return SimResponse.json(200, {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "businessPhones": [], "displayName": box.display_name,
            "givenName": box.display_name.split(" ")[0],
            "surname": box.display_name.split(" ")[-1], "jobTitle": None, "mail": box.mail,
            "mobilePhone": None, "officeLocation": None, "preferredLanguage": "en-US",
            "userPrincipalName": box.mail, "id": box.user_id})

    @graph("GET", "/me/calendar", scopes=READ_SCOPES)
    def default_calendar(self, request: SimRequest, client_id: str) -> SimResponse:
        with self.lock:
            return SimResponse.json(200, self.mailbox.calendar_view(self.mailbox.calendar(None)))

    @graph("GET", "/me/calendars", scopes=READ_SCOPES)
    def calendars(self, request: SimRequest, client_id: str) -> SimResponse:
        with self.lock:
            return SimResponse.json(200, {"value": [self.mailbox.calendar_view(c)
                                                    for c in self.mailbox.calendars.values()]})

    @graph("GET", "/me/calendars/{calendarId}", scopes=READ_SCOPES)
    def one_calendar(self, request: SimRequest, client_id: str) -> SimResponse:
        with self.lock:
            calendar = self.mailbox.calendar(request.path_params["calendarId"])
            return SimResponse.json(200, self.mailbox.calendar_view(calendar))

    # -- events -------------------------------------------------------------------
    @graph("GET", "/me/events", scopes=READ_SCOPES)
    def list_all_events(self, request: SimRequest, client_id: str) -> SimResponse:
        return self._list_events(request, None, "/me/events")

    @graph("GET", "/me/calendar/events", scopes=READ_SCOPES)
    def list_default_events(self, request: SimRequest, client_id: str) -> SimResponse:
        return self._list_events(request, self.mailbox.default_calendar_id,
                                 "/me/calendar/events")

    @graph("GET", "/me/calendars/{calendarId}/events", scopes=READ_SCOPES)
    def list_calendar_events(self, request: SimRequest, client_id: str) -> SimResponse:
        calendar_id = request.path_params["calendarId"]
        return self._list_events(request, calendar_id, f"/me/calendars/{calendar_id}/events")

    def _list_events(self, request: SimRequest, calendar_id: str | None,
                     path: str) -> SimResponse:
        zone_name = preferred_zone(request.header("prefer"))
        top = _int_param(request, "$top", DEFAULT_LIST_PAGE)
        skip = _int_param(request, "$skip", 0)
        with self.lock:
            if calendar_id is not None:
                self.mailbox.calendar(calendar_id)
            events = [e for e in self.mailbox.events.values()
                      if calendar_id is None or e.calendar_id == calendar_id]
            page = [self.mailbox.view(e, zone_name) for e in events[skip:skip + top]]
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('"
                              f"{self.mailbox.user_id}')/events", "value": page}
        if skip + top < len(events):
            body["@odata.nextLink"] = self._api_url(path, {"$top": str(top),
                                                           "$skip": str(skip + top)})
        return SimResponse.json(200, body)

    @graph("POST", "/me/events", scopes=WRITE_SCOPES)
    def create_event(self, request: SimRequest, client_id: str) -> SimResponse:
        return self._create(request, None)

    @graph("POST", "/me/calendar/events", scopes=WRITE_SCOPES)
    def create_default_event(self, request: SimRequest, client_id: str) -> SimResponse:
        return self._create(request, self.mailbox.default_calendar_id)

    @graph("POST", "/me/calendars/{calendarId}/events", scopes=WRITE_SCOPES)
    def create_calendar_event(self, request: SimRequest, client_id: str) -> SimResponse:
        return self._create(request, request.path_params["calendarId"])

    def _create(self, request: SimRequest, calendar_id: str | None) -> SimResponse:
        zone_name = preferred_zone(request.header("prefer"))
        body = request.json()
        with self.lock:
            event, created = self.mailbox.create(body, calendar_id=calendar_id, now=self.now())
            if created:
                self._changed(event, "created")
            view = self.mailbox.view(event, zone_name)
        return SimResponse.json(201, {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('"
                              f"{self.mailbox.user_id}')/events/$entity", **view},
            headers={"Location": f"{self.base_url}{API}/me/events/{event.id}"})

    @graph("GET", "/me/events/{eventId}", scopes=READ_SCOPES)
    def get_event(self, request: SimRequest, client_id: str) -> SimResponse:
        zone_name = preferred_zone(request.header("prefer"))
        with self.lock:
            event = self.mailbox.event(request.path_params["eventId"])
            return SimResponse.json(200, self.mailbox.view(event, zone_name))

    @graph("PATCH", "/me/events/{eventId}", scopes=WRITE_SCOPES)
    def update_event(self, request: SimRequest, client_id: str) -> SimResponse:
        zone_name = preferred_zone(request.header("prefer"))
        body = request.json()
        with self.lock:
            event = self.mailbox.update(request.path_params["eventId"], body, now=self.now())
            self._changed(event, "updated")
            return SimResponse.json(200, self.mailbox.view(event, zone_name))

    @graph("DELETE", "/me/events/{eventId}", scopes=WRITE_SCOPES)
    def delete_event(self, request: SimRequest, client_id: str) -> SimResponse:
        with self.lock:
            event = self.mailbox.delete(request.path_params["eventId"])
            self._changed(event, "deleted")
        return SimResponse.empty(204)

    # -- delta ----------------------------------------------------------------------
    @graph("GET", "/me/calendarView/delta", scopes=READ_SCOPES)
    def delta(self, request: SimRequest, client_id: str) -> SimResponse:
        return self._delta(request, None, "/me/calendarView/delta")

    @graph("GET", "/me/calendars/{calendarId}/calendarView/delta", scopes=READ_SCOPES)
    def calendar_delta(self, request: SimRequest, client_id: str) -> SimResponse:
        calendar_id = request.path_params["calendarId"]
        return self._delta(request, calendar_id, f"/me/calendars/{calendar_id}/calendarView/delta")

    def _delta(self, request: SimRequest, calendar_id: str | None, path: str) -> SimResponse:
        params = {key.lower().lstrip("$"): values[-1] for key, values in request.query.items()}
        page_size = preferred_page_size(request.header("prefer"))
        now = self.clock()
        token = params.get("skiptoken") or params.get("deltatoken")

        def restart_url(state: DeltaState) -> str:
            return self._api_url(path, {"startDateTime": state.start.isoformat(),
                                        "endDateTime": state.end.isoformat(),
                                        "$deltatoken": ""})

        with self.lock:
            if token:
                state = self.mailbox.delta_resume(token, page_size=page_size, now=now,
                                                  restart_url=restart_url)
            else:
                state = self.mailbox.delta_start(
                    calendar_id=calendar_id,
                    start=parse_instant(params.get("startdatetime"), "startDateTime"),
                    end=parse_instant(params.get("enddatetime"), "endDateTime"),
                    page_size=page_size, now=now)
            items, skip_token, delta_token = self.mailbox.delta_page(state, now)
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
            "value": items}
        if skip_token:
            body["@odata.nextLink"] = self._api_url(path, {"$skiptoken": skip_token})
        else:
            body["@odata.deltaLink"] = self._api_url(path, {"$deltatoken": delta_token or ""})
        headers = {"Preference-Applied": f"odata.maxpagesize={state.page_size}"} \
            if page_size else {}
        return SimResponse.json(200, body, headers=headers)

    # -- subscriptions ----------------------------------------------------------------
    @graph("POST", "/subscriptions", scopes=READ_SCOPES)
    def create_subscription(self, request: SimRequest, client_id: str) -> SimResponse:
        body = request.json()
        with self.lock:
            wanted = parse_create(body, mailbox=self.mailbox, now=self.now(),
                                  max_minutes=self.max_subscription_minutes,
                                  require_https=self.require_https_notification_url)
            self.validations += 1
        # Outside the lock: the endpoint may be the hub, which may call us meanwhile.
        validate_endpoint(wanted.notification_url, timeout=self.validation_timeout_seconds)
        with self.lock:
            subscription = self.subscriptions.add(wanted, application_id=client_id)
            return SimResponse.json(201, subscription.view(self.mailbox))

    @graph("GET", "/subscriptions", scopes=frozenset())
    def list_subscriptions(self, request: SimRequest, client_id: str) -> SimResponse:
        with self.lock:
            self.subscriptions.drop_expired(self.now())
            return SimResponse.json(200, {"value": [
                s.view(self.mailbox) for s in self.subscriptions.items.values()
                if s.application_id == client_id]})

    @graph("GET", "/subscriptions/{subscriptionId}", scopes=frozenset())
    def get_subscription(self, request: SimRequest, client_id: str) -> SimResponse:
        with self.lock:
            subscription = self.subscriptions.get(request.path_params["subscriptionId"],
                                                  client_id, self.now())
            return SimResponse.json(200, subscription.view(self.mailbox))

    @graph("PATCH", "/subscriptions/{subscriptionId}", scopes=frozenset())
    def renew_subscription(self, request: SimRequest, client_id: str) -> SimResponse:
        body = request.json()
        with self.lock:
            subscription = self.subscriptions.get(request.path_params["subscriptionId"],
                                                  client_id, self.now())
            if not isinstance(body, dict) or "expirationDateTime" not in body:
                raise GraphError(400, "InvalidRequest",
                                 "Only 'expirationDateTime' can be updated on a subscription.")
            subscription.expires_at = parse_expiration(
                body["expirationDateTime"], now=self.now(),
                max_minutes=self.max_subscription_minutes)
            return SimResponse.json(200, subscription.view(self.mailbox))

    @graph("DELETE", "/subscriptions/{subscriptionId}", scopes=frozenset())
    def delete_subscription(self, request: SimRequest, client_id: str) -> SimResponse:
        with self.lock:
            subscription = self.subscriptions.get(request.path_params["subscriptionId"],
                                                  client_id, self.now())
            self.subscriptions.delete(subscription)
        return SimResponse.empty(204)

    # -- controls -----------------------------------------------------------------
    @control_route("POST", "/advance")
    def control_advance(self, request: SimRequest) -> SimResponse:
        seconds = float((request.json() or {})["seconds"])
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self.clock.advance(seconds)
        return SimResponse.json(200, {"now": self.now().isoformat()})

    @control_route("POST", "/identity")
    def control_identity(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, self.identity.configure(request.json() or {}))

    @control_route("POST", "/revoke")
    def control_revoke(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        revoked = self.identity.revoke_grants(access_tokens=bool(body.get("access_tokens")))
        return SimResponse.json(200, {"revoked_grants": revoked})

    @control_route("POST", "/throttle")
    def control_throttle(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        unknown = set(body) - {"next", "code", "retry_after", "limit", "window_seconds"}
        if unknown:
            raise ValueError(f"unknown throttle setting(s): {', '.join(sorted(unknown))}")
        code = body.get("code", self.throttle_code)
        if code not in ("TooManyRequests", "ApplicationThrottled"):
            raise ValueError("code must be TooManyRequests or ApplicationThrottled")
        self.throttle_code = code
        self.throttle_next = int(body.get("next", self.throttle_next))
        self.throttle_retry_after = int(body.get("retry_after", self.throttle_retry_after))
        self.throttle_limit = int(body.get("limit", self.throttle_limit))
        self.throttle_window_seconds = float(body.get("window_seconds",
                                                      self.throttle_window_seconds))
        return SimResponse.json(200, self.state()["throttle"])

    @control_route("POST", "/delta/reset")
    def control_delta_reset(self, request: SimRequest) -> SimResponse:
        code = (request.json() or {}).get("code", "syncStateNotFound")
        if code not in ("syncStateNotFound", "resyncRequired"):
            raise ValueError("code must be syncStateNotFound or resyncRequired")
        self.mailbox.delta_reset(code)
        return SimResponse.json(200, {"generation": self.mailbox.generation, "code": code})

    @control_route("GET", "/events")
    def control_events(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, {"value": self.mailbox.state()["events"]})

    @control_route("POST", "/events")
    def control_create_event(self, request: SimRequest) -> SimResponse:
        body = dict(request.json() or {})
        calendar_id = body.pop("calendarId", None)
        event, created = self.mailbox.create(body, calendar_id=calendar_id, now=self.now(),
                                             created_by="owner")
        if created:
            self._changed(event, "created")
        return SimResponse.json(201, self.mailbox.view(event))

    @control_route("PATCH", "/events/{eventId}")
    def control_update_event(self, request: SimRequest) -> SimResponse:
        event = self.mailbox.update(request.path_params["eventId"], request.json() or {},
                                    now=self.now())
        self._changed(event, "updated")
        return SimResponse.json(200, self.mailbox.view(event))

    @control_route("DELETE", "/events/{eventId}")
    def control_delete_event(self, request: SimRequest) -> SimResponse:
        event = self.mailbox.delete(request.path_params["eventId"])
        self._changed(event, "deleted")
        return SimResponse.empty(204)

    @control_route("POST", "/calendars")
    def control_add_calendar(self, request: SimRequest) -> SimResponse:
        name = (request.json() or {})["name"]
        if not isinstance(name, str) or not name:
            raise ValueError("name is required")
        return SimResponse.json(201, self.mailbox.calendar_view(self.mailbox.add_calendar(name)))


def _throttle_message(code: str) -> str:
    if code == "ApplicationThrottled":
        return "Application is over its MailboxConcurrency limit."
    return "Too many requests."


def _int_param(request: SimRequest, name: str, default: int) -> int:
    values = request.query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise GraphError(400, "BadRequest",
                         f"Invalid value '{values[-1]}' for query option '{name}'.") from None
    if value < 0:
        raise GraphError(400, "BadRequest", f"Invalid value '{value}' for query option '{name}'.")
    return value


def build(**options: Any) -> MicrosoftSimulator:
    """The simulator with the settings' default client id and secret; `options`
    override the constructor's arguments."""
    return MicrosoftSimulator(**options)
