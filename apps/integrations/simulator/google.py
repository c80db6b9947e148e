"""A local stand-in for Google: OAuth 2.0 and the Calendar API v3.

`build()` is the factory of settings.SIMULATORS (port 8105); tests serve it
with the `google_simulator` fixture (tests/integrations/conftest.py), which
points the GOOGLE_* settings at it. The simulator has one user (its e-mail
is an option) whose primary calendar is "primary"; every token it issues
acts for that user.

OAuth (google_oauth.py has the details):
  GET  /o/oauth2/v2/auth       the consent screen: 302 to redirect_uri with
                               code, state and scope (or error=access_denied)
  POST /token                  authorization_code (PKCE) and refresh_token
  POST /revoke                 token=... (form or query); 200 {}, 400 invalid_token
  GET  /oauth2/v3/userinfo     sub, email, name, picture (per the scopes granted)

Calendar API v3, under /calendar/v3 (Bearer token; Google's error bodies):
  GET    /users/me/calendarList
  GET    /calendars/{calendarId}
  GET    /calendars/{calendarId}/events          maxResults (250, at most 2500),
         pageToken, syncToken, timeMin, timeMax, showDeleted, singleEvents,
         orderBy; nextPageToken on every page but the last, nextSyncToken on
         the last; an expired or invalidated syncToken is 410 fullSyncRequired.
         Items come in creation order: orderBy is checked (startTime needs
         singleEvents=true, as Google says) but not applied, and recurring
         events are not expanded (google_calendar.py)
  POST   /calendars/{calendarId}/events          insert; a client-set `id`
         (base32hex, 5-1024 characters) makes it idempotent: 409 duplicate
  GET|PUT|PATCH|DELETE /calendars/{calendarId}/events/{eventId}
         (If-Match checked: 412; DELETE of a cancelled event: 410 deleted)
  POST   /calendars/{calendarId}/events/watch    {id, type: "web_hook",
         address, token, expiration (ms) | params.ttl (s)} -> the channel
  POST   /channels/stop                          {id, resourceId}: 204
Each method accepts the scopes Google's reference lists for it: events
reads need calendar, calendar.readonly, calendar.events(.readonly) or
calendar.events.owned(.readonly); writes calendar, calendar.events or
calendar.events.owned; calendars.get calendar(.readonly) or
calendar.calendars(.readonly); calendarList calendar(.readonly) or
calendar.calendarlist(.readonly). Otherwise 403 insufficientPermissions.

Each user may make `per_user_per_minute` API requests in any 60 seconds of
the simulator's clock (600, Google's default); past it, 403 usageLimits
userRateLimitExceeded (or 429 rateLimitExceeded with quota_status=429).
Neither carries Retry-After: Google asks for exponential backoff.

Push: a channel receives a bodiless POST for every change to its calendar's
events, made through the API or by the owner (controls below), and a first
"sync" message when it is created: X-Goog-Channel-ID, X-Goog-Channel-Token,
X-Goog-Channel-Expiration, X-Goog-Resource-ID, X-Goog-Resource-URI,
X-Goog-Resource-State (sync, exists; not_exists when the calendar is
deleted) and X-Goog-Message-Number (1 for sync, then counting). Channels
that expired or were stopped receive nothing. Deliveries are the kit's
WebhookSender (retried on failure; google_push.py), sent from a background
thread.

Control endpoints (no token, no quota, no faults), besides the framework's
/_sim/faults, /_sim/reset and /_sim/state:
  POST   /_sim/consent       {"deny": bool, "redirect_uris": [...] | null}
  POST   /_sim/revoke-access the user removes the app's access (every grant revoked)
  POST   /_sim/advance       {"seconds": n} moves the simulator's clock
  POST   /_sim/sync-tokens   {"expire": true} every sync token given so far is
                             410 from now on; {"max_age_seconds": n}
  POST   /_sim/quota         {"per_user_per_minute", "status": 403|429,
                             "fail_next": n, "reason": "rateLimitExceeded" |
                             "userRateLimitExceeded" | "quotaExceeded",
                             "fail_status": 403|429}
  POST   /_sim/calendars     {"id", "summary", "timeZone"} another calendar
  DELETE /_sim/calendars/{calendarId}            gone (channels get not_exists)
  GET    /_sim/calendars/{calendarId}/events     every event, cancelled ones too
  POST   /_sim/calendars/{calendarId}/events     the owner creates an event
  PATCH  /_sim/calendars/{calendarId}/events/{eventId}   the owner changes it
  DELETE /_sim/calendars/{calendarId}/events/{eventId}   the owner deletes it
  POST   /_sim/calendars/{calendarId}/events/generate  {"count", "start": "YYYY-MM-DD",
                             "seed"} the owner imports that many one-hour events
                             (for benchmarks); one notification for the lot
  POST   /_sim/calendars/{calendarId}/events/change    {"count" | "percent",
                             "seed", "cancel_share": 0..1} the owner changes (or
                             cancels) that many of the live events; one notification
  GET    /_sim/channels      the channels and the notifications sent to each
  POST   /_sim/lose-answers  {"count": n, "status": 500|502|503|504, "hang_seconds": s}
                             the next n inserts are stored, then answered with
                             that error (Google's backendError) after waiting
                             hang_seconds (0: at once), so the client does not
                             know whether its event exists; their ids are in
                             the state's "lost_answers"
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import hashlib
import logging
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

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
from apps.core.simulator_kit.oauth import AccessToken, TokenRejected
from apps.core.simulator_kit.worker import BackgroundWorker

from .google_calendar import (
    CANCELLED,
    DEFAULT_MAX_RESULTS,
    EVENT_ID,
    MAX_MAX_RESULTS,
    SYNC_INCOMPATIBLE,
    WRITABLE,
    Calendar,
    CalendarError,
    ListQuery,
    StoredEvent,
    decode_token,
    encode_token,
    full_sync_required,
    invalid,
    list_item,
    list_page,
    not_found,
    parse_rfc3339,
    rfc3339,
    validate_event,
)
from .google_oauth import (
    CALENDAR_GET_SCOPES,
    CALENDAR_LIST_SCOPES,
    EVENTS_READ_SCOPES,
    EVENTS_WRITE_SCOPES,
    WWW_AUTHENTICATE,
    GoogleOAuth,
    SimUser,
)
from .google_push import Channel, ChannelSender

logger = logging.getLogger(__name__)

API = "/calendar/v3"
DEFAULT_USER_EMAIL = "sim.user@example.com"
DEFAULT_USER_NAME = "Sim User"
DEFAULT_TIME_ZONE = "Europe/Brussels"
# Google's default per-user quota of the Calendar API, per minute.
PER_USER_PER_MINUTE = 600
QUOTA_WINDOW_SECONDS = 60.0
# Google does not say how long a sync token lives; a week by default here.
SYNC_TOKEN_MAX_AGE_SECONDS = 7 * 24 * 3600
# A channel asked for no expiration lives a week; longer asks are cut to 30 days.
CHANNEL_DEFAULT_TTL_SECONDS = 7 * 24 * 3600
CHANNEL_MAX_TTL_SECONDS = 30 * 24 * 3600
MAX_CHANNEL_ID_LENGTH = 64
WORKER_TICK_SECONDS = 0.05
USAGE_LIMIT_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
}
SYNC, EXISTS, NOT_EXISTS = "sync", "exists", "not_exists"
# What one generate control may create: more than any benchmark needs.
MAX_GENERATED_EVENTS = 100_000
GENERATED_TITLES = ("Training", "Team meeting", "Conference", "Workshop", "Briefing")


def usage_limit(reason: str, status: int) -> CalendarError:
    if status == 429:
        reason = "rateLimitExceeded"
    return CalendarError(status, reason, USAGE_LIMIT_MESSAGES[reason], domain="usageLimits")


def error_response(exc: CalendarError, headers: dict[str, str] | None = None) -> SimResponse:
    return SimResponse.json(exc.status, exc.body(), headers=headers,
                            content_type="application/json; charset=UTF-8")


def api(method: str, pattern: str, scopes: frozenset[str]):
    """A Calendar API route: bearer token, quota, scope, Google's error body."""

    def decorate(func: Callable[..., SimResponse]):
        @functools.wraps(func)
        def wrapper(self: GoogleSimulator, request: SimRequest) -> SimResponse:
            with self.lock:
                self.endpoint_requests[f"{method} {pattern}"] += 1
                request.path_params = {key: unquote(value)
                                       for key, value in request.path_params.items()}
                try:
                    token = self._authenticate(request)
                    self._charge_quota()
                    if not scopes & token.scopes:
                        return _insufficient_scopes()
                    return func(self, request, token)
                except CalendarError as exc:
                    challenge = {"WWW-Authenticate": WWW_AUTHENTICATE} if exc.status == 401 else {}
                    return error_response(exc, challenge)

        return route(method, API + pattern)(wrapper)

    return decorate


def _insufficient_scopes() -> SimResponse:
    body = {"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                      "errors": [{"message": "Insufficient Permission", "domain": "global",
                                  "reason": "insufficientPermissions"}],
                      "status": "PERMISSION_DENIED"}}
    return SimResponse.json(403, body, content_type="application/json; charset=UTF-8")


class GoogleSimulator(Simulator):
    """Google's OAuth and Calendar API for one user.

    client_id, client_secret: the one OAuth client it knows.
    redirect_uris: the URIs that client registered; None accepts any http(s) URI.
    user_email, user_name: the consenting user; their primary calendar's id
        is their e-mail.
    time_zone: the primary calendar's zone.
    per_user_per_minute, quota_status: the quota and how it is refused.
    sync_token_max_age_seconds: older sync tokens are 410.
    require_https: watch addresses must be https, as Google requires (off
        for local hubs).
    push_max_attempts, push_retry_seconds, push_timeout_seconds: deliveries.
    """

    name = "google"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str] | None = None,
        user_email: str = DEFAULT_USER_EMAIL,
        user_name: str = DEFAULT_USER_NAME,
        time_zone: str = DEFAULT_TIME_ZONE,
        per_user_per_minute: int = PER_USER_PER_MINUTE,
        quota_status: int = 403,
        sync_token_max_age_seconds: float = SYNC_TOKEN_MAX_AGE_SECONDS,
        channel_default_ttl_seconds: float = CHANNEL_DEFAULT_TTL_SECONDS,
        channel_max_ttl_seconds: float = CHANNEL_MAX_TTL_SECONDS,
        require_https: bool = False,
        push_max_attempts: int = 4,
        push_retry_seconds: float = 0.5,
        push_timeout_seconds: float = 5.0,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed,
                         clock=clock if isinstance(clock, SimClock) else SimClock(clock))
        self.client_id = client_id
        self.client_secret = client_secret
        given, _, family = user_name.partition(" ")
        self.user = SimUser(email=user_email, name=user_name, given_name=given,
                            family_name=family,
                            picture="https://lh3.googleusercontent.com/a/sim-user=s96-c",
                            sub=str(int(hashlib.sha256(user_email.encode()).hexdigest()[:15],
                                        16)))
        self.oauth = GoogleOAuth(
            clients={client_id: client_secret}, user=self.user,
            redirect_uris=None if redirect_uris is None else {client_id: list(redirect_uris)})
        self.time_zone = time_zone
        self.initial_quota = (per_user_per_minute, quota_status)
        self.initial_sync_token_max_age = sync_token_max_age_seconds
        self.channel_default_ttl_seconds = channel_default_ttl_seconds
        self.channel_max_ttl_seconds = channel_max_ttl_seconds
        self.require_https = require_https
        self.push_options = {"max_attempts": push_max_attempts,
                             "retry_seconds": push_retry_seconds,
                             "timeout_seconds": push_timeout_seconds}
        self._context = threading.local()  # a lost answer's wait, per server thread
        self.worker = BackgroundWorker(self._background_step, name="sim-google-push",
                                       tick=WORKER_TICK_SECONDS)
        self._clear_state()

    def _clear_state(self) -> None:
        self.clock.reset()
        self.oauth.reset()
        primary = Calendar(id=self.user.email, summary=self.user.email,
                           time_zone=self.time_zone, owner_email=self.user.email,
                           owner_name=self.user.name)
        self.calendars: dict[str, Calendar] = {primary.id: primary}
        self.change_number = 0
        self.creation_number = 0
        # A new epoch makes every sync token given before it 410.
        self.epoch = secrets.token_hex(4)
        self.sync_token_max_age_seconds = self.initial_sync_token_max_age
        self.per_user_per_minute, self.quota_status = self.initial_quota
        self.quota_log: deque[float] = deque()
        self.forced_failures: list[tuple[str, int]] = []
        self.quota_refusals = 0
        self.channels: dict[str, Channel] = {}
        self.endpoint_requests: Counter[str] = Counter()
        self.answers_to_lose: list[tuple[int, float]] = []  # (status, hang seconds)
        self.lost_answers: list[str] = []

    # -- time, and the push worker ------------------------------------------------
    def now(self) -> float:
        return self.clock()

    def deliver_notifications(self) -> int:
        """Send the due push notifications, on the calling thread."""
        with self.lock:
            senders = [channel.sender for channel in self.channels.values() if channel.sender]
        return sum(sender.deliver_due() for sender in senders)

    def close(self) -> None:
        """Stop the push worker (started by the first channel)."""
        self.worker.close()

    def _background_step(self) -> None:
        # Outside the lock: the hub may call the API back meanwhile.
        self.deliver_notifications()

    # -- framework hooks --------------------------------------------------------------
    def control_prepare(self, request: SimRequest) -> None:
        # Calendar ids are e-mail addresses: percent-encoded in the path.
        request.path_params = {key: unquote(value) for key, value in request.path_params.items()}

    def control_error(self, exc: Exception) -> SimResponse | None:
        return error_response(exc) if isinstance(exc, CalendarError) else None

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        hang = getattr(self._context, "hang_seconds", 0.0)
        if hang:
            # The event is stored; only its answer is late, and the lock is free meanwhile.
            self._context.hang_seconds = 0.0
            time.sleep(hang)
        return response

    def reset(self) -> None:
        self._clear_state()

    def state(self) -> dict[str, Any]:
        now = self.now()
        return {
            **super().state(),
            "now": rfc3339(now),
            "user": self.user.email,
            "oauth": self.oauth.state(),
            "calendars": {
                calendar_id: {
                    "events": sum(1 for e in calendar.events.values() if not e.cancelled),
                    "cancelled": sum(1 for e in calendar.events.values() if e.cancelled),
                } for calendar_id, calendar in self.calendars.items()},
            "change_number": self.change_number,
            "sync_token_max_age_seconds": self.sync_token_max_age_seconds,
            "quota": {"per_user_per_minute": self.per_user_per_minute,
                      "status": self.quota_status, "refused": self.quota_refusals,
                      "forced_failures_left": len(self.forced_failures)},
            "channels": [self._channel_state(channel, now) for channel in self.channels.values()],
            "notifications": self._notification_counts(),
            "lost_answers": list(self.lost_answers),
            "requests_by_endpoint": dict(self.endpoint_requests),
        }

    def not_found(self, request: SimRequest) -> SimResponse:
        # Google's front end answers an unknown path with an HTML page.
        body = (f"<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title>"
                f"<p><b>404.</b> <ins>That's an error.</ins><p>The requested URL "
                f"<code>{request.path}</code> was not found on this server. "
                f"<ins>That's all we know.</ins></html>")
        return SimResponse(404, body.encode("utf-8"), {"Content-Type": "text/html; charset=UTF-8"})

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        return self.not_found(request)

    def bad_json(self, request: SimRequest) -> SimResponse:
        return error_response(CalendarError(400, "parseError", "Parse Error"))

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        # Google sends no Retry-After: clients back off exponentially.
        return error_response(usage_limit("rateLimitExceeded", 429))

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        message = "The service is currently unavailable." if status == 503 else "Backend Error"
        return error_response(CalendarError(status, "backendError", message))

    # -- OAuth ------------------------------------------------------------------------
    @route("GET", "/o/oauth2/v2/auth")
    def authorize(self, request: SimRequest) -> SimResponse:
        return self.oauth.authorize(request, self.now())

    @route("POST", "/token")
    def token(self, request: SimRequest) -> SimResponse:
        return self.oauth.token(request, self.now())

    @route("POST", "/revoke")
    def revoke(self, request: SimRequest) -> SimResponse:
        return self.oauth.revoke_endpoint(request)

    @route("GET", "/oauth2/v3/userinfo")
    def userinfo(self, request: SimRequest) -> SimResponse:
        return self.oauth.userinfo(request, self.now())

    def _authenticate(self, request: SimRequest) -> AccessToken:
        header = request.header("authorization")
        try:
            return self.oauth.authenticate(header, self.now())
        except TokenRejected as exc:
            if exc.reason == "missing":
                raise CalendarError(401, "required", "Login Required", location="Authorization",
                                    location_type="header") from exc
            raise CalendarError(401, "authError", "Invalid Credentials",
                                location="Authorization", location_type="header") from exc

    def _charge_quota(self) -> None:
        if self.forced_failures:
            reason, status = self.forced_failures.pop(0)
            self.quota_refusals += 1
            raise usage_limit(reason, status)
        now = self.now()
        while self.quota_log and self.quota_log[0] <= now - QUOTA_WINDOW_SECONDS:
            self.quota_log.popleft()
        if len(self.quota_log) >= self.per_user_per_minute:
            self.quota_refusals += 1
            raise usage_limit("userRateLimitExceeded", self.quota_status)
        self.quota_log.append(now)

    # -- calendars ----------------------------------------------------------------------
    def _calendar(self, calendar_id: str) -> Calendar:
        if calendar_id == "primary":
            calendar_id = self.user.email
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            raise not_found()
        return calendar

    @api("GET", "/users/me/calendarList", CALENDAR_LIST_SCOPES)
    def calendar_list(self, request: SimRequest, token: AccessToken) -> SimResponse:
        items = [calendar.list_entry(primary=calendar.id == self.user.email)
                 for calendar in self.calendars.values()]
        return SimResponse.json(200, {"kind": "calendar#calendarList",
                                      "etag": f'"p{self.change_number}"', "items": items})

    @api("GET", "/calendars/{calendarId}", CALENDAR_GET_SCOPES)
    def calendar_get(self, request: SimRequest, token: AccessToken) -> SimResponse:
        return SimResponse.json(200, self._calendar(request.path_params["calendarId"]).resource())

    # -- events ---------------------------------------------------------------------------
    @api("GET", "/calendars/{calendarId}/events", EVENTS_READ_SCOPES)
    def events_list(self, request: SimRequest, token: AccessToken) -> SimResponse:
        calendar = self._calendar(request.path_params["calendarId"])
        params = {key: values[-1] for key, values in request.query.items()}
        max_results = _max_results(params.get("maxResults"))
        if params.get("orderBy") == "startTime" and params.get("singleEvents") != "true":
            raise invalid("The requested ordering is not available for the particular query.",
                          location="orderBy")
        if params.get("pageToken"):
            query = self._page_query(calendar, params["pageToken"])
        elif params.get("syncToken"):
            query = self._sync_query(calendar, params)
        else:
            query = self._full_query(params)
        events, more = list_page(calendar, query, max_results)
        body: dict[str, Any] = {
            "kind": "calendar#events", "etag": f'"p{self.change_number}"',
            "summary": calendar.summary, "description": "",
            "updated": rfc3339(calendar.updated_at or self.now()),
            "timeZone": calendar.time_zone,
            "accessRole": "owner", "defaultReminders": [{"method": "popup", "minutes": 10}],
            "items": [list_item(stored) for stored in events],
        }
        if more:
            body["nextPageToken"] = encode_token({
                "c": calendar.id, "a": events[-1].order, "hw": query.high_water,
                "s": query.since, "min": query.time_min, "max": query.time_max,
                "d": query.show_deleted, "e": self.epoch})
        else:
            body["nextSyncToken"] = encode_token({"c": calendar.id, "s": query.high_water,
                                                  "t": self.now(), "e": self.epoch})
        return SimResponse.json(200, body, content_type="application/json; charset=UTF-8")

    def _full_query(self, params: dict[str, str]) -> ListQuery:
        time_min = parse_rfc3339(params["timeMin"], "timeMin") if params.get("timeMin") else None
        time_max = parse_rfc3339(params["timeMax"], "timeMax") if params.get("timeMax") else None
        if time_min and time_max and time_max <= time_min:
            raise CalendarError(400, "timeRangeEmpty", "The specified time range is empty.",
                                domain="calendar", location="timeMax")
        return ListQuery(after=0, high_water=self.change_number, since=None,
                         time_min=time_min.timestamp() if time_min else None,
                         time_max=time_max.timestamp() if time_max else None,
                         show_deleted=params.get("showDeleted") == "true")

    def _sync_query(self, calendar: Calendar, params: dict[str, str]) -> ListQuery:
        clashing = [name for name in SYNC_INCOMPATIBLE if params.get(name)]
        if clashing:
            raise invalid(f"The parameter {clashing[0]} cannot be used with syncToken.",
                          location=clashing[0])
        if params.get("showDeleted") == "false":
            raise invalid("showDeleted cannot be false with syncToken.", location="showDeleted")
        token = decode_token(params["syncToken"], "syncToken")
        if token.get("c") != calendar.id or not isinstance(token.get("s"), int) or \
                not isinstance(token.get("t"), int | float):
            raise invalid("Invalid sync token value.", location="syncToken")
        if token.get("e") != self.epoch or \
                self.now() - token["t"] > self.sync_token_max_age_seconds:
            raise full_sync_required()
        return ListQuery(after=0, high_water=self.change_number, since=token["s"],
                         time_min=None, time_max=None, show_deleted=True)

    def _page_query(self, calendar: Calendar, page_token: str) -> ListQuery:
        token = decode_token(page_token, "pageToken")
        numbers = (token.get("a"), token.get("hw"))
        if token.get("c") != calendar.id or not all(isinstance(n, int) for n in numbers) or \
                not all(isinstance(token.get(k), int | float | None) for k in ("s", "min", "max")):
            raise invalid("Invalid page token value.", location="pageToken")
        if token.get("s") is not None and token.get("e") != self.epoch:
            # The sync this page belongs to was invalidated meanwhile.
            raise full_sync_required()
        return ListQuery(after=token["a"], high_water=token["hw"], since=token.get("s"),
                         time_min=token.get("min"), time_max=token.get("max"),
                         show_deleted=bool(token.get("d")))

    @api("POST", "/calendars/{calendarId}/events", EVENTS_WRITE_SCOPES)
    def events_insert(self, request: SimRequest, token: AccessToken) -> SimResponse:
        calendar = self._calendar(request.path_params["calendarId"])
        stored = self.create_event(calendar, _object(request.json()))
        if self.answers_to_lose:
            status, hang_seconds = self.answers_to_lose.pop(0)
            self.lost_answers.append(stored.resource["id"])
            self._context.hang_seconds = hang_seconds
            return self.server_error(request, status)
        return SimResponse.json(200, copy.deepcopy(stored.resource))

    @api("GET", "/calendars/{calendarId}/events/{eventId}", EVENTS_READ_SCOPES)
    def events_get(self, request: SimRequest, token: AccessToken) -> SimResponse:
        stored = self._event(request)
        return SimResponse.json(200, copy.deepcopy(stored.resource))

    @api("PUT", "/calendars/{calendarId}/events/{eventId}", EVENTS_WRITE_SCOPES)
    def events_update(self, request: SimRequest, token: AccessToken) -> SimResponse:
        stored = self._event(request)
        _check_if_match(request, stored)
        calendar = self._calendar(request.path_params["calendarId"])
        self.change_event(calendar, stored, _object(request.json()), replace_all=True)
        return SimResponse.json(200, copy.deepcopy(stored.resource))

    @api("PATCH", "/calendars/{calendarId}/events/{eventId}", EVENTS_WRITE_SCOPES)
    def events_patch(self, request: SimRequest, token: AccessToken) -> SimResponse:
        stored = self._event(request)
        _check_if_match(request, stored)
        calendar = self._calendar(request.path_params["calendarId"])
        self.change_event(calendar, stored, _object(request.json()), replace_all=False)
        return SimResponse.json(200, copy.deepcopy(stored.resource))

    @api("DELETE", "/calendars/{calendarId}/events/{eventId}", EVENTS_WRITE_SCOPES)
    def events_delete(self, request: SimRequest, token: AccessToken) -> SimResponse:
        stored = self._event(request)
        _check_if_match(request, stored)
        self.cancel_event(self._calendar(request.path_params["calendarId"]), stored)
        return SimResponse.empty(204)

    def _event(self, request: SimRequest) -> StoredEvent:
        calendar = self._calendar(request.path_params["calendarId"])
        stored = calendar.events.get(request.path_params["eventId"])
        if stored is None:
            raise not_found()
        return stored

    # -- what changes an event (the API and the owner's controls alike) ------------------------
    def _next_change(self, calendar: Calendar) -> int:
        calendar.updated_at = self.now()
        self.change_number += 1
        return self.change_number

    def create_event(self, calendar: Calendar, body: dict[str, Any], *,
                     notify: bool = True) -> StoredEvent:
        event_id = body.get("id")
        if event_id is None:
            event_id = base64.b32hexencode(secrets.token_bytes(15)).decode("ascii").lower()
        elif not isinstance(event_id, str) or not EVENT_ID.match(event_id):
            raise invalid("Invalid resource id value.", location="id")
        if event_id in calendar.events:
            # Cancelled events keep their id: it cannot be used again.
            raise CalendarError(409, "duplicate", "The requested identifier already exists.")
        fields = validate_event(body)
        now = self.now()
        change = self._next_change(calendar)
        self.creation_number += 1
        resource = {
            "kind": "calendar#event", "id": event_id,
            "htmlLink": "https://www.google.com/calendar/event?eid=" + base64.urlsafe_b64encode(
                f"{event_id} {calendar.id}".encode()).decode("ascii").rstrip("="),
            "created": rfc3339(now),
            "creator": {"email": calendar.owner_email, "self": True},
            "organizer": {"email": calendar.id, "displayName": calendar.owner_name,
                          "self": True},
            "iCalUID": f"{event_id}@google.com",
            "eventType": "default",
        }
        stored = StoredEvent(resource=resource, order=self.creation_number, changed=change)
        self._apply(stored, fields, now, change, sequence=fields.get("sequence", 0))
        calendar.events[event_id] = stored
        if notify:
            self._notify(calendar.id, EXISTS)
        return stored

    def change_event(self, calendar: Calendar, stored: StoredEvent, body: dict[str, Any], *,
                     replace_all: bool, notify: bool = True) -> None:
        current = {key: stored.resource[key] for key in WRITABLE if key in stored.resource}
        wanted = dict(body) if replace_all else _patched(current, body)
        if wanted.get("id", stored.resource["id"]) != stored.resource["id"]:
            raise invalid("The id of an event cannot be changed.", location="id")
        sequence = stored.resource.get("sequence", 0)
        fields = validate_event(wanted, existing_sequence=sequence)
        significant = any(fields.get(key) != current.get(key)
                          for key in ("start", "end", "location", "recurrence"))
        # iCalendar's SEQUENCE: a change of time or place is a new revision.
        new_sequence = max(int(fields.get("sequence", sequence)),
                           sequence + 1 if significant else sequence)
        change = self._next_change(calendar)
        stored.changed = change
        self._apply(stored, fields, self.now(), change, sequence=new_sequence)
        if notify:
            self._notify(calendar.id, EXISTS)

    def cancel_event(self, calendar: Calendar, stored: StoredEvent, *,
                     notify: bool = True) -> None:
        if stored.cancelled:
            raise CalendarError(410, "deleted", "Resource has been deleted")
        change = self._next_change(calendar)
        stored.changed = change
        stored.resource["status"] = CANCELLED
        stored.resource["updated"] = rfc3339(self.now())
        stored.resource["etag"] = _etag(change)
        if notify:
            self._notify(calendar.id, EXISTS)

    def _apply(self, stored: StoredEvent, fields: dict[str, Any], now: float, change: int, *,
               sequence: int) -> None:
        resource = stored.resource
        for key in WRITABLE:
            resource.pop(key, None)
        resource.update(fields)
        resource.setdefault("status", "confirmed")
        resource.setdefault("reminders", {"useDefault": True})
        resource["sequence"] = sequence
        resource["updated"] = rfc3339(now)
        resource["etag"] = _etag(change)

    # -- push channels -----------------------------------------------------------------------------
    @api("POST", "/calendars/{calendarId}/events/watch", EVENTS_READ_SCOPES)
    def events_watch(self, request: SimRequest, token: AccessToken) -> SimResponse:
        calendar = self._calendar(request.path_params["calendarId"])
        body = _object(request.json())
        channel_id = body.get("id")
        if not isinstance(channel_id, str) or not channel_id:
            raise invalid("Required", reason="required", location="id")
        if len(channel_id) > MAX_CHANNEL_ID_LENGTH:
            raise invalid("Channel id too long.", location="id")
        if body.get("type") not in ("web_hook", "webhook"):
            raise invalid(f"Invalid channel type: {body.get('type')}", location="type")
        address = body.get("address")
        parts = urlsplit(address) if isinstance(address, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid("Invalid address.", location="address")
        if self.require_https and parts.scheme != "https":
            raise invalid(f"WebHook callback must be HTTPS: {address}",
                          reason="push.webhookUrlNotHttps", location="address")
        if channel_id in self.channels and self.channels[channel_id].live(self.now()):
            raise invalid("Channel id not unique", reason="channelIdNotUnique", location="id")
        channel = Channel(
            id=channel_id, resource_id=_resource_id(calendar.id),
            resource_uri=f"{self.base_url}{API}/calendars/{calendar.id}/events?alt=json",
            calendar_id=calendar.id, token=str(body.get("token") or ""), address=address,
            expiration=self._channel_expiration(body), client_id=token.client_id)
        channel.sender = ChannelSender(channel, clock=self.clock, **self.push_options)
        self.channels[channel_id] = channel
        self._send(channel, SYNC)
        return SimResponse.json(200, channel.resource())

    def _channel_expiration(self, body: dict[str, Any]) -> float:
        now = self.now()
        ttl = self.channel_default_ttl_seconds
        if body.get("expiration") is not None:
            try:
                ttl = int(body["expiration"]) / 1000 - now
            except (TypeError, ValueError) as exc:
                raise invalid("Invalid expiration.", location="expiration") from exc
        elif isinstance(body.get("params"), dict) and body["params"].get("ttl") is not None:
            try:
                ttl = float(body["params"]["ttl"])
            except (TypeError, ValueError) as exc:
                raise invalid("Invalid ttl value for channel.", location="params.ttl") from exc
        if ttl <= 0:
            raise invalid("Invalid expiration: it is in the past.", location="expiration")
        return now + min(ttl, self.channel_max_ttl_seconds)

    @api("POST", "/channels/stop", EVENTS_READ_SCOPES)
    def channels_stop(self, request: SimRequest, token: AccessToken) -> SimResponse:
        body = _object(request.json())
        channel = self.channels.get(str(body.get("id")))
        if channel is None or channel.stopped or channel.resource_id != body.get("resourceId"):
            raise CalendarError(404, "notFound", f"Channel '{body.get('id')}' not found for "
                                f"project '{_project_number(token.client_id)}'")
        channel.stopped = True
        return SimResponse.empty(204)

    def _notify(self, calendar_id: str, state: str) -> None:
        now = self.now()
        for channel in self.channels.values():
            if channel.calendar_id == calendar_id and channel.live(now):
                self._send(channel, state)

    def _send(self, channel: Channel, state: str) -> None:
        channel.message_number += 1
        assert channel.sender is not None
        channel.sender.submit(str(channel.message_number), state, b"")
        self.worker.start()

    def _channel_state(self, channel: Channel, now: float) -> dict[str, Any]:
        status = "stopped" if channel.stopped else "live" if channel.live(now) else "expired"
        return {**channel.resource(), "address": channel.address, "calendarId":
                channel.calendar_id, "status": status, "messages": channel.message_number,
                "deliveries": channel.sender.summaries() if channel.sender else []}

    def _notification_counts(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for channel in self.channels.values():
            if channel.sender is not None:
                totals.update(channel.sender.counts())
        return {"pending": totals["pending"], "delivered": totals["delivered"],
                "failed": totals["failed"], "attempts": totals["attempts"]}

    # -- controls ----------------------------------------------------------------------
    @control_route("POST", "/consent")
    def control_consent(self, request: SimRequest) -> SimResponse:
        body = _control_body(request)
        if "deny" in body:
            self.oauth.deny_consent = bool(body["deny"])
        if "redirect_uris" in body:
            uris = body["redirect_uris"]
            if uris is None:
                self.oauth.redirect_uris.pop(self.client_id, None)
            else:
                self.oauth.redirect_uris[self.client_id] = [str(uri) for uri in uris]
        return SimResponse.json(200, {"deny": self.oauth.deny_consent,
                                      "redirect_uris": self.oauth.redirect_uris.get(
                                          self.client_id)})

    @control_route("POST", "/revoke-access")
    def control_revoke_access(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, {"revoked_grants": self.oauth.revoke_all()})

    @control_route("POST", "/advance")
    def control_advance(self, request: SimRequest) -> SimResponse:
        seconds = float(_control_body(request).get("seconds", 0))
        if seconds < 0:
            raise ControlError("seconds must not be negative", status=400)
        self.clock.advance(seconds)
        return SimResponse.json(200, {"now": rfc3339(self.now())})

    @control_route("POST", "/sync-tokens")
    def control_sync_tokens(self, request: SimRequest) -> SimResponse:
        body = _control_body(request)
        if body.get("expire"):
            self.epoch = secrets.token_hex(4)
        if "max_age_seconds" in body:
            self.sync_token_max_age_seconds = float(body["max_age_seconds"])
        return SimResponse.json(200, {"epoch": self.epoch,
                                      "max_age_seconds": self.sync_token_max_age_seconds})

    @control_route("POST", "/quota")
    def control_quota(self, request: SimRequest) -> SimResponse:
        body = _control_body(request)
        if "per_user_per_minute" in body:
            self.per_user_per_minute = int(body["per_user_per_minute"])
        if "status" in body:
            self.quota_status = _quota_status(body["status"])
        if body.get("fail_next"):
            reason = str(body.get("reason", "rateLimitExceeded"))
            if reason not in USAGE_LIMIT_MESSAGES:
                raise ControlError(
                    f"reason must be one of {', '.join(USAGE_LIMIT_MESSAGES)}", status=400)
            status = _quota_status(body.get("fail_status", 403))
            self.forced_failures.extend([(reason, status)] * int(body["fail_next"]))
        return SimResponse.json(200, {"per_user_per_minute": self.per_user_per_minute,
                                      "status": self.quota_status,
                                      "forced_failures_left": len(self.forced_failures)})

    @control_route("POST", "/calendars")
    def control_add_calendar(self, request: SimRequest) -> SimResponse:
        body = _control_body(request)
        calendar_id = str(body["id"])
        if calendar_id in self.calendars or calendar_id == "primary":
            raise ControlError(f"calendar {calendar_id} exists", status=409)
        zone = str(body.get("timeZone", self.time_zone))
        calendar = Calendar(id=calendar_id, summary=str(body.get("summary", calendar_id)),
                            time_zone=zone, owner_email=self.user.email,
                            owner_name=self.user.name)
        calendar.zone()  # refuses an unknown zone before it is stored
        self.calendars[calendar_id] = calendar
        return SimResponse.json(200, calendar.resource())

    @control_route("DELETE", "/calendars/{calendarId}")
    def control_delete_calendar(self, request: SimRequest) -> SimResponse:
        calendar = self._control_calendar(request)
        if calendar.id == self.user.email:
            raise ControlError("the primary calendar cannot be deleted", status=400)
        del self.calendars[calendar.id]
        self._notify(calendar.id, NOT_EXISTS)
        return SimResponse.empty(204)

    @control_route("GET", "/calendars/{calendarId}/events")
    def control_list_events(self, request: SimRequest) -> SimResponse:
        calendar = self._control_calendar(request)
        return SimResponse.json(200, {"items": [copy.deepcopy(stored.resource)
                                                for stored in calendar.events.values()]})

    @control_route("POST", "/calendars/{calendarId}/events")
    def control_create_event(self, request: SimRequest) -> SimResponse:
        calendar = self._control_calendar(request)
        stored = self.create_event(calendar, _control_body(request))
        return SimResponse.json(200, copy.deepcopy(stored.resource))

    @control_route("PATCH", "/calendars/{calendarId}/events/{eventId}")
    def control_change_event(self, request: SimRequest) -> SimResponse:
        calendar = self._control_calendar(request)
        stored = self._control_event(calendar, request)
        self.change_event(calendar, stored, _control_body(request), replace_all=False)
        return SimResponse.json(200, copy.deepcopy(stored.resource))

    @control_route("DELETE", "/calendars/{calendarId}/events/{eventId}")
    def control_delete_event(self, request: SimRequest) -> SimResponse:
        calendar = self._control_calendar(request)
        self.cancel_event(calendar, self._control_event(calendar, request))
        return SimResponse.empty(204)

    @control_route("POST", "/lose-answers")
    def control_lose_answers(self, request: SimRequest) -> SimResponse:
        body = _control_body(request)
        status = int(body.get("status", 500))
        if status not in (500, 502, 503, 504):
            raise ControlError("status must be 500, 502, 503 or 504", status=400)
        hang_seconds = float(body.get("hang_seconds", 0))
        self.answers_to_lose = [(status, hang_seconds)] * int(body.get("count", 1))
        return SimResponse.json(200, {"count": len(self.answers_to_lose)})

    @control_route("POST", "/calendars/{calendarId}/events/generate")
    def control_generate_events(self, request: SimRequest) -> SimResponse:
        calendar = self._control_calendar(request)
        body = _control_body(request)
        count = int(body.get("count", 0))
        if not 0 <= count <= MAX_GENERATED_EVENTS:
            raise ControlError(f"count must be between 0 and {MAX_GENERATED_EVENTS}", status=400)
        first_day = dt.date.fromisoformat(str(body.get("start", "2026-01-05")))
        rng = random.Random(body.get("seed", 0))
        ids = []
        for number in range(count):
            # Working hours, eight one-hour slots a day, one day after another.
            day = first_day + dt.timedelta(days=number // 8)
            hour = 9 + number % 8
            start = dt.datetime.combine(day, dt.time(hour), tzinfo=calendar.zone())
            stored = self.create_event(calendar, {
                "summary": f"{rng.choice(GENERATED_TITLES)} {number + 1}",
                "location": f"Room {rng.randint(1, 12)}",
                "start": {"dateTime": start.isoformat(), "timeZone": calendar.time_zone},
                "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat(),
                        "timeZone": calendar.time_zone},
            }, notify=False)
            ids.append(stored.resource["id"])
        if ids:
            self._notify(calendar.id, EXISTS)
        return SimResponse.json(200, {"created": len(ids), "first_id": ids[0] if ids else None})

    @control_route("POST", "/calendars/{calendarId}/events/change")
    def control_change_events(self, request: SimRequest) -> SimResponse:
        calendar = self._control_calendar(request)
        body = _control_body(request)
        live = [stored for stored in calendar.events.values() if not stored.cancelled]
        if "percent" in body:
            count = round(len(live) * float(body["percent"]) / 100)
        else:
            count = int(body.get("count", 1))
        if not 0 <= count <= len(live):
            raise ControlError(f"count must be between 0 and {len(live)}", status=400)
        rng = random.Random(body.get("seed", 0))
        chosen = rng.sample(live, count)
        cancel_count = round(count * float(body.get("cancel_share", 0)))
        for index, stored in enumerate(chosen):
            if index < cancel_count:
                self.cancel_event(calendar, stored, notify=False)
            else:
                self.change_event(calendar, stored, {
                    "summary": f"{stored.resource.get('summary', '')} (changed)"},
                    replace_all=False, notify=False)
        if chosen:
            self._notify(calendar.id, EXISTS)
        return SimResponse.json(200, {"changed": count - cancel_count,
                                      "cancelled": cancel_count,
                                      "ids": [stored.resource["id"] for stored in chosen]})

    @control_route("GET", "/channels")
    def control_channels(self, request: SimRequest) -> SimResponse:
        now = self.now()
        return SimResponse.json(200, {"channels": [self._channel_state(channel, now)
                                                   for channel in self.channels.values()]})

    def _control_calendar(self, request: SimRequest) -> Calendar:
        try:
            return self._calendar(request.path_params["calendarId"])
        except CalendarError as exc:
            raise ControlError(f"no calendar {request.path_params['calendarId']}",
                               status=404) from exc

    def _control_event(self, calendar: Calendar, request: SimRequest) -> StoredEvent:
        stored = calendar.events.get(request.path_params["eventId"])
        if stored is None:
            raise ControlError(f"no event {request.path_params['eventId']}", status=404)
        return stored


def _etag(change: int) -> str:
    return f'"{3_000_000_000_000_000 + change}"'


def _resource_id(calendar_id: str) -> str:
    # Stable for a calendar's events collection, whichever channel watches it.
    return base64.urlsafe_b64encode(hashlib.sha256(calendar_id.encode()).digest()[:15]
                                    ).decode("ascii")


def _project_number(client_id: str) -> int:
    return int(hashlib.sha256(client_id.encode()).hexdigest()[:11], 16)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise CalendarError(400, "parseError", "Parse Error")
    return body


def _control_body(request: SimRequest) -> dict[str, Any]:
    body = request.json() if request.body else {}
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object", status=400)
    return body


def _quota_status(value: Any) -> int:
    status = int(value)
    if status not in (403, 429):
        raise ControlError("status must be 403 or 429", status=400)
    return status


def _max_results(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_MAX_RESULTS
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(f"Invalid value '{raw}'. Values must be within the range: [1, 2500]",
                      location="maxResults") from exc
    if value < 1:
        raise invalid(f"Invalid value '{raw}'. Values must be within the range: [1, 2500]",
                      location="maxResults")
    # Google answers at most 2500 whatever is asked.
    return min(value, MAX_MAX_RESULTS)


def _check_if_match(request: SimRequest, stored: StoredEvent) -> None:
    wanted = request.header("if-match")
    if wanted and wanted != "*" and wanted != stored.resource.get("etag"):
        raise CalendarError(412, "conditionNotMet", "Precondition Failed",
                            location="If-Match", location_type="header")


def _patched(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """PATCH: the given fields replace the current ones, null removes one;
    extendedProperties merge key by key, as Google's patch semantics do."""
    merged = copy.deepcopy(current)
    for key, value in body.items():
        if value is None:
            merged.pop(key, None)
        elif key == "extendedProperties" and isinstance(value, dict):
            properties = merged.setdefault("extendedProperties", {})
            for scope, entries in value.items():
                if isinstance(entries, dict):
                    target = properties.setdefault(scope, {})
                    for name, entry in entries.items():
                        if entry is None:
                            target.pop(name, None)
                        else:
                            target[name] = entry
                else:
                    properties[scope] = entries
        else:
            merged[key] = value
    return merged


def build(**options: Any) -> GoogleSimulator:
    """A simulator that knows the hub's OAuth client (GOOGLE_CLIENT_ID and
    GOOGLE_CLIENT_SECRET), so `run_simulators` and the hub agree; `options`
    override anything."""
    from django.conf import settings  # here, so the module imports without Django set up

    defaults = {"client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET}
    return GoogleSimulator(**{**defaults, **options})
