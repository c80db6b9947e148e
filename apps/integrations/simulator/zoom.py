"""A local stand-in for Zoom: OAuth with rotating refresh tokens, meetings and
the participants of past meetings.

`build()` is the factory of settings.SIMULATORS (`manage.py run_simulators`,
port 8108); tests start it with the `zoom_simulator` fixture
(tests/integrations/zoom_fixtures.py). Paths are those of settings' ZOOM_*
defaults.

OAuth (developers.zoom.us "Zoom OAuth"):
  GET  /oauth/authorize   response_type=code, client_id, redirect_uri, state,
       optional code_challenge / code_challenge_method. The user consents at
       once: 302 to redirect_uri with code and state; with consent denied
       (/_sim/consent) 302 with error=access_denied and state. A bad
       client_id, response_type or redirect_uri is an HTML error page (400).
  POST /oauth/token       client credentials in HTTP Basic (or the form).
       grant_type=authorization_code: code (single-use, 5 minutes), the same
       redirect_uri, code_verifier when a challenge was sent.
       grant_type=refresh_token: Zoom ROTATES refresh tokens, each answer
       carries a new one and the one presented is dead from then on.
       Answer {"access_token", "token_type": "bearer", "refresh_token",
       "expires_in": 3599, "scope"}. Errors {"reason", "error"}: 400
       {"reason": "Invalid authorization code <code>", "error":
       "invalid_grant"} for an unknown or used code, "Code is expired",
       "Redirect URI mismatch." (invalid_request), 400 {"reason": "Invalid
       Token!", "error": "invalid_grant"} for a spent, revoked or unknown
       refresh token (the error is `stale_refresh_error`: Zoom has been seen
       answering "invalid_request" too, and a client must take both), 401
       "Invalid client_id or client_secret" (invalid_client), 400
       "Unsupported grant type" (unsupported_grant_type).
  POST /oauth/revoke?token=…  (or token in the form), client in Basic:
       {"status": "success"}; the whole grant (access and refresh tokens)
       stops working. An unknown token: 400 {"reason": "Invalid Token!",
       "error": "invalid_request"}.

API v2 under /v2 (Bearer). Errors {"code", "message"}: 401 code 124
"Invalid access token." (missing, unknown, revoked) or "Access token is
expired."; 400 code 4711 for a token without the scope; 400 code 300 for a
bad body ("Validation Failed." with "errors": [{"field", "message"}]);
404 code 3001 "Meeting does not exist: <id>.".
  GET    /v2/users/me (also /v2/users/{userId} for the user's id or e-mail)
  POST   /v2/users/me/meetings  topic, type (1, 2, 3, 8), start_time,
         duration, timezone, agenda, password (≤ 10 of [A-Za-z0-9@-_*]),
         settings {waiting_room, join_before_host, mute_upon_entry,
         auto_recording "local"|"cloud"|"none", ...}: 201 with the meeting
         (id, uuid, host_id, join_url, start_url, password, settings, ...).
  GET    /v2/meetings/{meetingId}; PATCH (204, settings merged); DELETE (204)
  GET    /v2/past_meetings/{meetingId}/participants and
         /v2/report/meetings/{meetingId}/participants: page_size (1-300,
         default 30), next_page_token (valid 15 minutes, "" on the last page);
         one row per session (a participant who left and came back is two
         rows): id, name, user_email, join_time, leave_time, duration
         (seconds), ... meetingId is the meeting's id (its last ended
         instance) or an instance's uuid, URL-encoded (twice when it starts
         with "/" or contains "//"). A meeting never ended: 404 3001.
Rate limits (developers.zoom.us "Rate limits", Pro plan): per second per
category (Light 30, Medium 20, Heavy 10: `rate_limits`); past one 429
{"code": 429, "message": "You have reached the maximum per-second rate limit
for this API. Try again later."} with X-RateLimit-Category, X-RateLimit-Type
QPS, X-RateLimit-Limit and X-RateLimit-Remaining 0 (Zoom documents no
Retry-After for it). Meeting create and update: 100 a day per user (UTC);
past it 429 with Zoom's daily message, X-RateLimit-Type Daily-limit and
Retry-After at the next UTC midnight (ISO 8601). Other answers carry
X-RateLimit-Category, X-RateLimit-Limit and X-RateLimit-Remaining.

Events (developers.zoom.us webhooks): with a webhook URL (`webhook_url`,
or /_sim/webhooks), ending a meeting sends `meeting.ended` {"event",
"event_ts" (ms), "payload": {"account_id", "operator", "operator_id",
"object": {"id" (text), "uuid", "host_id", "topic", "type", "start_time",
"end_time", "duration", "timezone"}}}, signed with the secret token
(`x-zm-request-timestamp`, `x-zm-signature: v0=hex(HMAC-SHA256(secret,
"v0:<timestamp>:<body>"))`), retried with doubling delays on a failure.

Controls (no token, not counted, no faults), besides the framework's
/_sim/faults, /_sim/reset and /_sim/state:
  POST /_sim/consent               {"deny": true|false}
  POST /_sim/meetings/{id}/end     {"participants": [{"name", "user_email"?,
                                    "join_time"? (ISO, default the start),
                                    "duration" (seconds) | "leave_time"}],
                                    "ended_at"?} ends the current instance
  GET  /_sim/meetings              every meeting, with its past instances
  POST /_sim/webhooks              {"url", "secret"?} where events go ("" for nowhere)
  POST /_sim/webhooks/validate     sends endpoint.url_validation now and answers
                                    {"validated": true|false, "status"}
  GET  /_sim/events                every event emitted
  POST /_sim/options               {"stale_refresh_error", "daily_meeting_limit",
                                    "rate_limits": {"Light": n, ...}}
  POST /_sim/advance               {"seconds": n} moves the simulator's clock
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import requests

from apps.core.simulator import (
    CONTROL_PREFIX,
    FaultKnobs,
    SimRequest,
    SimResponse,
    Simulator,
    control_route,
    route,
)
from apps.core.simulator_kit.authcodes import PKCE_METHODS, AuthorizationCodes, CodeRefused
from apps.core.simulator_kit.clock import SimClock
from apps.core.simulator_kit.oauth import (
    NO_STORE,
    REFRESH_TOKEN,
    ClientSecrets,
    OAuthError,
    TokenRejected,
    TokenServer,
)
from apps.core.simulator_kit.webhooks import TimestampedHmac, WebhookSender

AUTHORIZATION_CODE = "authorization_code"
ACCESS_TOKEN_LIFETIME_SECONDS = 3599
CODE_LIFETIME_SECONDS = 300  # "Authorization codes have an expiration time of 5 minutes."
DEFAULT_SCOPES = ("meeting:write:meeting", "meeting:read:meeting", "meeting:update:meeting",
                  "meeting:delete:meeting", "meeting:read:list_past_participants",
                  "report:read:list_meeting_participants", "user:read:user")
LIGHT, MEDIUM, HEAVY = "Light", "Medium", "Heavy"
PRO_RATE_LIMITS = {LIGHT: 30, MEDIUM: 20, HEAVY: 10}
DAILY_MEETING_LIMIT = 100
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 30, 300
PAGE_TOKEN_LIFETIME_SECONDS = 15 * 60
MEETING_TYPES = (1, 2, 3, 8)
AUTO_RECORDING = ("local", "cloud", "none")
PASSWORD_RE = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."


class ZoomError(Exception):
    """An API error: {"code", "message"} (plus "errors" for a validation failure)."""

    def __init__(self, status: int, code: int, message: str,
                 errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> SimResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return SimResponse.json(self.status, body, headers=self.headers)


class TokenError(Exception):
    """A token endpoint error: {"reason", "error"}."""

    def __init__(self, reason: str, error: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.status = status

    def response(self) -> SimResponse:
        return SimResponse.json(self.status, {"reason": self.reason, "error": self.error},
                                headers=dict(NO_STORE))


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any, field_name: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ZoomError(400, 300, "Validation Failed.",
                        [{"field": field_name, "message": "Invalid field."}]) from exc
    if parsed.tzinfo is None:
        # Zoom reads a time without an offset in the meeting's time zone; the
        # simulator keeps UTC, which is what the hub sends anyway.
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _error_page(message: str) -> SimResponse:
    body = (f"<!DOCTYPE html><html><head><title>Error - Zoom</title></head><body>"
            f"<h1>{html.escape(message)}</h1></body></html>")
    return SimResponse(400, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


@dataclass
class Session:
    """One row of a past meeting's participants: one join-to-leave span."""

    id: str
    user_id: str  # Zoom's number for this participant in this meeting
    name: str
    user_email: str
    join_time: float
    leave_time: float

    def view(self, *, report: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id, "user_id": self.user_id,
            "name": self.name, "user_email": self.user_email,
            "join_time": _iso(self.join_time), "leave_time": _iso(self.leave_time),
            "duration": int(self.leave_time - self.join_time), "registrant_id": "",
            "failover": False, "status": "in_meeting",
        }
        if report:
            row.update({"customer_key": "", "participant_user_id": self.id, "bo_mtg_id": ""})
        return row


@dataclass
class Instance:
    uuid: str
    start_time: float
    end_time: float
    sessions: list[Session]


@dataclass
class Meeting:
    id: int
    uuid: str
    topic: str
    type: int
    start_time: float
    duration: int
    timezone: str
    agenda: str
    password: str
    settings: dict[str, Any]
    created_at: float
    instances: list[Instance] = field(default_factory=list)


def endpoint(verb: str, pattern: str, *, category: str, scope: str,
             counts_daily: bool = False):
    """An API route under /v2: token, scope, rate limits, Zoom's error body."""

    def decorate(func: Callable[..., SimResponse]):
        @functools.wraps(func)
        def wrapper(self: ZoomSimulator, request: SimRequest) -> SimResponse:
            with self.lock:
                self.endpoint_requests[f"{verb} {pattern}"] += 1
                try:
                    scopes = self._authenticate(request)
                    if scope not in scopes:
                        raise ZoomError(400, 4711, "Invalid access token, does not contain "
                                        f"scopes:[{scope}].")
                    headers = self._take_slot(category)
                    if counts_daily:
                        headers = self._take_daily_meeting_slot()
                    response = func(self, request)
                except ZoomError as exc:
                    return exc.response()
            response.headers.update(headers)
            return response

        return route(verb, "/v2" + pattern)(wrapper)

    return decorate


class ZoomSimulator(Simulator):
    """One Zoom account with one user, the hub's OAuth app installable by them.

    client_id, client_secret: the app's credentials (settings.ZOOM_CLIENT_*).
    scopes: what the app is configured with (and every grant gets).
    rate_limits: requests per second per category (Pro plan by default).
    daily_meeting_limit: meeting creates and updates per user and UTC day.
    stale_refresh_error: the `error` of a refused refresh token.
    """

    name = "zoom"

    def control_error(self, exc: Exception) -> SimResponse | None:
        return exc.response() if isinstance(exc, ZoomError) else None

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        user_email: str = "organiser@example.com",
        first_name: str = "Sim",
        last_name: str = "Organiser",
        rate_limits: dict[str, int] | None = None,
        daily_meeting_limit: int = DAILY_MEETING_LIMIT,
        stale_refresh_error: str = "invalid_grant",
        code_lifetime_seconds: float = CODE_LIFETIME_SECONDS,
        access_token_lifetime_seconds: int = ACCESS_TOKEN_LIFETIME_SECONDS,
        webhook_url: str = "",
        webhook_secret: str = "",
        webhook_max_attempts: int = 4,
        webhook_retry_seconds: float = 0.5,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed,
                         clock=clock if isinstance(clock, SimClock) else SimClock(clock))
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self.user = {"id": "KDcuGIm1QgePTO8WbOqwIQ", "first_name": first_name,
                     "last_name": last_name, "display_name": f"{first_name} {last_name}",
                     "email": user_email, "type": 2, "pmi": 3542471135,
                     "timezone": "Europe/Brussels", "verified": 1, "dept": "",
                     "language": "en-US", "status": "active", "role_id": "0",
                     "account_id": "q6gBJVO5TzexKYTb_I2rpg", "account_number": 10009239,
                     "cluster": "us05", "phone_number": ""}
        self.initial_options = {"rate_limits": {**PRO_RATE_LIMITS, **(rate_limits or {})},
                                "daily_meeting_limit": daily_meeting_limit,
                                "stale_refresh_error": stale_refresh_error}
        # Basic auth as Zoom documents it; the form is accepted too ("in the
        # header or in the request parameter").
        # Given the app's scopes, the kit carries a grant's scopes over to
        # each refreshed token.
        self.tokens = TokenServer(ClientSecrets({client_id: client_secret}),
                                  token_lifetime_seconds=access_token_lifetime_seconds,
                                  scopes=self.scopes, grants=(REFRESH_TOKEN,),
                                  rotate_refresh_tokens=True)
        self.codes = AuthorizationCodes(lifetime_seconds=code_lifetime_seconds)
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_retry_seconds = webhook_retry_seconds
        self.initial_webhook = (webhook_url, webhook_secret)
        self.webhooks: WebhookSender | None = None
        self._clear_state()

    def _clear_state(self) -> None:
        self.clock.reset()
        self.tokens.reset()
        self.codes.reset()
        self.deny_consent = False
        self.rate_limits = dict(self.initial_options["rate_limits"])
        self.daily_meeting_limit = self.initial_options["daily_meeting_limit"]
        self.stale_refresh_error = self.initial_options["stale_refresh_error"]
        self.meetings: dict[int, Meeting] = {}
        self._next_meeting_id = 81_234_567_890
        self._grants: dict[str, set[str]] = {}  # grant id → every token value of it
        self._grant_of: dict[str, str] = {}
        self._revoked_grants: set[str] = set()
        self._page_tokens: dict[str, tuple[str, int, float]] = {}
        self._recent: dict[str, deque[float]] = {}
        self._daily: Counter[str] = Counter()
        self.endpoint_requests: Counter[str] = Counter()
        self.rate_limited_count = 0
        self.events: list[dict[str, Any]] = []
        self._configure_webhooks(*self.initial_webhook)

    def _configure_webhooks(self, url: str, secret: str) -> None:
        # Zoom signs with the app's secret token the way Slack signs, under
        # x-zm-* headers (the core's ZoomSignature checks it).
        self.webhooks = WebhookSender(
            url, TimestampedHmac(secret, signature_header="x-zm-signature",
                                 timestamp_header="x-zm-request-timestamp"),
            user_agent="Zoom Marketplace/1.1a", max_attempts=self.webhook_max_attempts,
            retry_seconds=self.webhook_retry_seconds, clock=self.clock) if url else None

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        body = {"event": event, "event_ts": int(self.clock() * 1000), "payload": payload}
        self.events.append(body)
        if self.webhooks is not None:
            self.webhooks.submit(secrets.token_hex(12), event,
                                 json.dumps(body, separators=(",", ":")).encode("utf-8"))

    def _deliver_in_background(self) -> None:
        """Send what is due on a thread of its own, retries included: never
        under the simulator's lock, so the hub may call back while it handles
        an event (fetch the participants of the meeting that just ended)."""
        sender = self.webhooks
        if sender is None or not sender.pending():
            return

        def drain() -> None:
            while sender.pending():
                if not sender.deliver_due():
                    time.sleep(min(self.webhook_retry_seconds, 0.05))

        threading.Thread(target=drain, name="sim-zoom-webhooks", daemon=True).start()

    # -- framework hooks -----------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        if request.path.startswith(CONTROL_PREFIX):
            # A control may have ended a meeting: its event goes out after the answer.
            self._deliver_in_background()
        return response

    def reset(self) -> None:
        self._clear_state()

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "now": _iso(self.clock()),
            "deny_consent": self.deny_consent,
            **self.tokens.state(),
            **self.codes.state(),
            "grants": len(self._grants),
            "revoked_grants": len(self._revoked_grants),
            "meetings": len(self.meetings),
            "ended_instances": sum(len(m.instances) for m in self.meetings.values()),
            "rate_limited": self.rate_limited_count,
            "options": {"rate_limits": self.rate_limits,
                        "daily_meeting_limit": self.daily_meeting_limit,
                        "stale_refresh_error": self.stale_refresh_error},
            "requests_by_endpoint": dict(self.endpoint_requests),
            "events": len(self.events),
            "webhooks": ({"url": self.webhooks.url, **self.webhooks.counts()}
                         if self.webhooks is not None else None),
        }

    def not_found(self, request: SimRequest) -> SimResponse:
        return ZoomError(404, 404, "Not Found").response()

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        return ZoomError(405, 405, "Method Not Allowed").response()

    def bad_json(self, request: SimRequest) -> SimResponse:
        return ZoomError(400, 300, "Request Body should be a valid JSON object.").response()

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        return ZoomError(429, 429, QPS_MESSAGE, headers={
            "Retry-After": str(retry_after), "X-RateLimit-Type": "QPS"}).response()

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return ZoomError(status, status, "Internal Error" if status == 500
                         else "Service Unavailable").response()

    # -- OAuth -----------------------------------------------------------------------
    @route("GET", "/oauth/authorize")
    def authorize(self, request: SimRequest) -> SimResponse:
        query = {key: values[-1] for key, values in request.query.items()}
        if query.get("response_type") != "code":
            return _error_page("Invalid response_type")
        if query.get("client_id") != self.client_id:
            return _error_page("Invalid client_id: " + query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return _error_page("Invalid redirect: " + redirect_uri)
        method_name = query.get("code_challenge_method", "")
        if method_name and method_name not in PKCE_METHODS:
            return _error_page("Invalid code_challenge_method")
        state = {"state": query["state"]} if "state" in query else {}
        with self.lock:
            if self.deny_consent:
                return SimResponse.empty(302, {"Location": _with_query(
                    redirect_uri, {"error": "access_denied", **state})})
            code = self.codes.issue(client_id=self.client_id, redirect_uri=redirect_uri,
                                    scopes=self.scopes,
                                    code_challenge=query.get("code_challenge", ""),
                                    code_challenge_method=method_name, now=self.clock())
        return SimResponse.empty(302, {"Location": _with_query(redirect_uri,
                                                               {"code": code, **state})})

    @route("POST", "/oauth/token")
    def token(self, request: SimRequest) -> SimResponse:
        with self.lock:
            self.endpoint_requests["POST /oauth/token"] += 1
            try:
                form = {**{key: values[-1] for key, values in request.query.items()},
                        **request.form()}
                grant_type = form.get("grant_type", "")
                if not grant_type:
                    raise TokenError("Missing grant type", "invalid_request")
                if grant_type == AUTHORIZATION_CODE:
                    answer = self._exchange_code(form, request.headers)
                elif grant_type == REFRESH_TOKEN:
                    answer = self._refresh(form, request.headers)
                else:
                    raise TokenError("Unsupported grant type", "unsupported_grant_type")
            except UnicodeDecodeError:
                return TokenError("Invalid request", "invalid_request").response()
            except TokenError as exc:
                return exc.response()
        return SimResponse.json(200, answer, headers=dict(NO_STORE))

    def _exchange_code(self, form: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        client_id = self._client(form, headers)
        code_value = form.get("code", "")
        if not form.get("redirect_uri"):
            raise TokenError("Redirect URI mismatch.", "invalid_request")
        try:
            code = self.codes.redeem(code_value, client_id=client_id,
                                     redirect_uri=form["redirect_uri"],
                                     code_verifier=form.get("code_verifier", ""),
                                     now=self.clock())
        except CodeRefused as exc:
            if exc.reason == "expired":
                raise TokenError("Code is expired", "invalid_grant") from exc
            if exc.reason == "redirect_uri":
                raise TokenError("Redirect URI mismatch.", "invalid_request") from exc
            if exc.reason in {"verifier_missing", "verifier_mismatch"}:
                raise TokenError("Invalid code_verifier", "invalid_grant") from exc
            raise TokenError(f"Invalid authorization code {code_value}",
                             "invalid_grant") from exc
        answer = self.tokens.grant(client_id, self.clock(), code.scopes)
        grant = secrets.token_hex(8)
        self._grants[grant] = set()
        return self._token_answer(grant, answer, code.scopes)

    def _refresh(self, form: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        presented = form.get("refresh_token", "")
        grant = self._grant_of.get(presented, "")
        try:
            answer = self.tokens.exchange(form, headers, self.clock())
        except OAuthError as exc:
            if exc.error == "invalid_client" or "client_id" in exc.missing:
                raise TokenError("Invalid client_id or client_secret", "invalid_client",
                                 status=401) from exc
            raise TokenError("Invalid Token!", self.stale_refresh_error) from exc
        if not grant or grant in self._revoked_grants:
            raise TokenError("Invalid Token!", self.stale_refresh_error)
        return self._token_answer(grant, answer, tuple(answer["scope"].split()))

    def _client(self, form: dict[str, str], headers: dict[str, str]) -> str:
        try:
            missing = self.tokens.client_auth.missing(form, headers)
            if missing:
                raise OAuthError("invalid_request", "missing client")
            return self.tokens.client_auth.authenticate(form, headers, self.clock())
        except OAuthError as exc:
            raise TokenError("Invalid client_id or client_secret", "invalid_client",
                             status=401) from exc

    def _token_answer(self, grant: str, answer: dict[str, Any], scopes: tuple[str, ...]
                      ) -> dict[str, Any]:
        for key in ("access_token", "refresh_token"):
            self._grants[grant].add(answer[key])
            self._grant_of[answer[key]] = grant
        return {"access_token": answer["access_token"], "token_type": "bearer",
                "refresh_token": answer["refresh_token"], "expires_in": answer["expires_in"],
                "scope": " ".join(scopes)}

    @route("POST", "/oauth/revoke")
    def revoke(self, request: SimRequest) -> SimResponse:
        with self.lock:
            self.endpoint_requests["POST /oauth/revoke"] += 1
            try:
                form = {**{key: values[-1] for key, values in request.query.items()},
                        **request.form()}
                self._client(form, request.headers)
                grant = self._grant_of.get(form.get("token", ""), "")
                if not grant or grant in self._revoked_grants:
                    raise TokenError("Invalid Token!", "invalid_request")
            except UnicodeDecodeError:
                return TokenError("Invalid request", "invalid_request").response()
            except TokenError as exc:
                return exc.response()
            self._revoked_grants.add(grant)
            for value in self._grants[grant]:
                self.tokens.revoke(value)
        return SimResponse.json(200, {"status": "success"})

    # -- API plumbing ----------------------------------------------------------------
    def _authenticate(self, request: SimRequest) -> tuple[str, ...]:
        try:
            token = self.tokens.authenticate(request.header("authorization"), self.clock())
        except TokenRejected as exc:
            raise ZoomError(401, 124, "Access token is expired." if exc.reason == "expired"
                            else "Invalid access token.") from exc
        if self._grant_of.get(token.value, "") in self._revoked_grants:
            raise ZoomError(401, 124, "Invalid access token.")
        return tuple(token.scopes)

    def _take_slot(self, category: str) -> dict[str, str]:
        """A slot in the category's one-second window, or 429 (nothing done)."""
        now = self.clock()
        limit = int(self.rate_limits[category])
        recent = self._recent.setdefault(category, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= limit:
            self.rate_limited_count += 1
            raise ZoomError(429, 429, QPS_MESSAGE, headers={
                "X-RateLimit-Category": category, "X-RateLimit-Type": "QPS",
                "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"})
        recent.append(now)
        return {"X-RateLimit-Category": category, "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(limit - len(recent))}

    def _take_daily_meeting_slot(self) -> dict[str, str]:
        """Meeting creates and updates per user and UTC day, as Zoom counts them."""
        day = self.clock.datetime().date()
        key = day.isoformat()
        limit = self.daily_meeting_limit
        if self._daily[key] >= limit:
            self.rate_limited_count += 1
            midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            raise ZoomError(429, 429, f"You have exceeded the daily rate limit ({limit}) of "
                            "Meeting Create/Update API requests permitted for this particular "
                            "user. You may resume these requests at GMT 00:00:00.", headers={
                                "X-RateLimit-Category": MEDIUM,
                                "X-RateLimit-Type": "Daily-limit",
                                "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                                "Retry-After": midnight.strftime("%Y-%m-%dT%H:%M:%SZ")})
        self._daily[key] += 1
        return {"X-RateLimit-Category": MEDIUM, "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(limit - self._daily[key])}

    def _body(self, request: SimRequest) -> dict[str, Any]:
        try:
            body = request.json() if request.body else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise ZoomError(400, 300, "Request Body should be a valid JSON object.") from exc
        if not isinstance(body, dict):
            raise ZoomError(400, 300, "Request Body should be a valid JSON object.")
        return body

    def _meeting(self, reference: str) -> Meeting:
        meeting = self.meetings.get(int(reference)) if reference.isdigit() else None
        if meeting is None:
            raise ZoomError(404, 3001, f"Meeting does not exist: {reference}.")
        return meeting

    def _is_me(self, user_id: str) -> bool:
        return user_id in {"me", self.user["id"], self.user["email"]}

    # -- users -----------------------------------------------------------------------
    @endpoint("GET", "/users/{userId}", category=LIGHT, scope="user:read:user")
    def get_user(self, request: SimRequest) -> SimResponse:
        if not self._is_me(request.path_params["userId"]):
            raise ZoomError(404, 1001, "User does not exist: "
                            f"{request.path_params['userId']}.")
        return SimResponse.json(200, {**self.user, "created_at": "2024-01-15T09:00:00Z",
                                      "user_created_at": "2024-01-15T09:00:00Z",
                                      "last_login_time": _iso(self.clock()),
                                      "pic_url": "", "personal_meeting_url":
                                      f"https://zoom.us/j/{self.user['pmi']}"})

    # -- meetings --------------------------------------------------------------------
    @endpoint("POST", "/users/{userId}/meetings", category=MEDIUM,
              scope="meeting:write:meeting", counts_daily=True)
    def create_meeting(self, request: SimRequest) -> SimResponse:
        if not self._is_me(request.path_params["userId"]):
            raise ZoomError(404, 1001, "User does not exist: "
                            f"{request.path_params['userId']}.")
        body = self._body(request)
        fields = self._validated(body, creating=True)
        meeting_type = fields.get("type", 2)
        meeting = Meeting(
            id=self._next_meeting_id, uuid=self._new_uuid(),
            topic=fields.get("topic", "Zoom meeting"), type=meeting_type,
            start_time=fields.get("start_time", self.clock()),
            duration=fields.get("duration", 60), timezone=fields.get("timezone", "UTC"),
            agenda=fields.get("agenda", ""),
            password=fields.get("password", secrets.token_hex(3)),
            settings=self._settings({}, fields.get("settings", {})),
            created_at=self.clock())
        self._next_meeting_id += 7919  # ids far apart, as Zoom's are
        self.meetings[meeting.id] = meeting
        return SimResponse.json(201, self._meeting_view(meeting))

    @endpoint("GET", "/meetings/{meetingId}", category=LIGHT, scope="meeting:read:meeting")
    def get_meeting(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, self._meeting_view(
            self._meeting(request.path_params["meetingId"])))

    @endpoint("PATCH", "/meetings/{meetingId}", category=LIGHT,
              scope="meeting:update:meeting", counts_daily=True)
    def update_meeting(self, request: SimRequest) -> SimResponse:
        meeting = self._meeting(request.path_params["meetingId"])
        fields = self._validated(self._body(request), creating=False)
        for key in ("topic", "type", "start_time", "duration", "timezone", "agenda",
                    "password"):
            if key in fields:
                setattr(meeting, key, fields[key])
        if "settings" in fields:
            meeting.settings = self._settings(meeting.settings, fields["settings"])
        return SimResponse.empty(204)

    @endpoint("DELETE", "/meetings/{meetingId}", category=LIGHT,
              scope="meeting:delete:meeting")
    def delete_meeting(self, request: SimRequest) -> SimResponse:
        meeting = self._meeting(request.path_params["meetingId"])
        del self.meetings[meeting.id]
        return SimResponse.empty(204)

    def _validated(self, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        errors: list[dict[str, str]] = []
        fields: dict[str, Any] = {}

        def invalid(name: str, message: str = "Invalid field.") -> None:
            errors.append({"field": name, "message": message})

        if "topic" in body:
            if not isinstance(body["topic"], str) or len(body["topic"]) > 200:
                invalid("topic")
            else:
                fields["topic"] = body["topic"]
        if "type" in body:
            if body["type"] not in MEETING_TYPES:
                invalid("type")
            else:
                fields["type"] = body["type"]
        if "start_time" in body:
            try:
                fields["start_time"] = _parse_time(body["start_time"], "start_time")
            except ZoomError:
                invalid("start_time")
        if "duration" in body:
            if not isinstance(body["duration"], int) or not 0 < body["duration"] <= 1440:
                invalid("duration")
            else:
                fields["duration"] = body["duration"]
        for name in ("timezone", "agenda"):
            if name in body:
                if not isinstance(body[name], str) or (name == "agenda"
                                                       and len(body[name]) > 2000):
                    invalid(name)
                else:
                    fields[name] = body[name]
        if "password" in body:
            if not isinstance(body["password"], str) or not PASSWORD_RE.match(body["password"]):
                invalid("password", "Password can only contain the following characters: "
                        "[a-z A-Z 0-9 @ - _ *] and can have a maximum of 10 characters.")
            else:
                fields["password"] = body["password"]
        if "settings" in body:
            settings = body["settings"]
            if not isinstance(settings, dict):
                invalid("settings")
            else:
                for name in ("waiting_room", "join_before_host", "mute_upon_entry",
                             "host_video", "participant_video"):
                    if name in settings and not isinstance(settings[name], bool):
                        invalid(f"settings.{name}")
                if "auto_recording" in settings and settings["auto_recording"] not in \
                        AUTO_RECORDING:
                    invalid("settings.auto_recording")
                fields["settings"] = settings
        if errors:
            raise ZoomError(400, 300, "Validation Failed.", errors)
        return fields

    @staticmethod
    def _settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        defaults = {"host_video": False, "participant_video": False,
                    "join_before_host": False, "mute_upon_entry": False,
                    "waiting_room": False, "auto_recording": "none", "approval_type": 2,
                    "audio": "voip", "watermark": False, "use_pmi": False,
                    "meeting_authentication": False, "jbh_time": 0}
        return {**defaults, **current, **changes}

    def _new_uuid(self) -> str:
        # Zoom's meeting UUIDs are 16 bytes in base64 ("…==").
        return base64.b64encode(uuid.uuid4().bytes).decode("ascii")

    def _meeting_view(self, meeting: Meeting) -> dict[str, Any]:
        token = base64.urlsafe_b64encode(meeting.password.encode()).decode().rstrip("=")
        return {
            "uuid": meeting.uuid, "id": meeting.id, "host_id": self.user["id"],
            "host_email": self.user["email"], "assistant_id": "", "topic": meeting.topic,
            "type": meeting.type, "status": "waiting", "start_time": _iso(meeting.start_time),
            "duration": meeting.duration, "timezone": meeting.timezone,
            "agenda": meeting.agenda, "created_at": _iso(meeting.created_at),
            "start_url": f"https://zoom.us/s/{meeting.id}?zak={secrets.token_urlsafe(16)}",
            "join_url": f"https://zoom.us/j/{meeting.id}?pwd={token}",
            "password": meeting.password, "h323_password": meeting.password,
            "pstn_password": meeting.password, "encrypted_password": token,
            "settings": meeting.settings, "pre_schedule": False,
        }

    # -- participants ------------------------------------------------------------------
    @endpoint("GET", "/past_meetings/{meetingId}/participants", category=MEDIUM,
              scope="meeting:read:list_past_participants")
    def past_participants(self, request: SimRequest) -> SimResponse:
        return self._participants(request, report=False)

    @endpoint("GET", "/report/meetings/{meetingId}/participants", category=HEAVY,
              scope="report:read:list_meeting_participants")
    def report_participants(self, request: SimRequest) -> SimResponse:
        return self._participants(request, report=True)

    def _participants(self, request: SimRequest, *, report: bool) -> SimResponse:
        reference = request.path_params["meetingId"]
        instance = self._instance(reference)
        query = {key: values[-1] for key, values in request.query.items()}
        try:
            page_size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
        except ValueError as exc:
            raise ZoomError(400, 300, "Validation Failed.",
                            [{"field": "page_size", "message": "Invalid field."}]) from exc
        page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
        offset = 0
        now = self.clock()
        if query.get("next_page_token"):
            saved = self._page_tokens.get(query["next_page_token"])
            if saved is None or saved[0] != instance.uuid or saved[2] <= now:
                raise ZoomError(400, 300, "The next page token is invalid or expired.")
            offset = saved[1]
        rows = instance.sessions[offset:offset + page_size]
        after = offset + len(rows)
        next_token = ""
        if after < len(instance.sessions):
            next_token = secrets.token_urlsafe(24)
            self._page_tokens[next_token] = (instance.uuid, after,
                                             now + PAGE_TOKEN_LIFETIME_SECONDS)
        payload: dict[str, Any] = {
            "page_count": -(-len(instance.sessions) // page_size), "page_size": page_size,
            "total_records": len(instance.sessions), "next_page_token": next_token,
            "participants": [row.view(report=report) for row in rows],
        }
        return SimResponse.json(200, payload)

    def _instance(self, reference: str) -> Instance:
        # A UUID comes URL-encoded, twice when it starts with "/" or holds
        # "//" (Zoom's rule, so that no proxy folds the slashes).
        reference = unquote(unquote(reference))
        if reference.isdigit():
            meeting = self.meetings.get(int(reference))
            if meeting is not None and meeting.instances:
                return meeting.instances[-1]
        else:
            for meeting in self.meetings.values():
                for instance in meeting.instances:
                    if instance.uuid == reference:
                        return instance
        raise ZoomError(404, 3001, f"Meeting does not exist: {reference}.")

    # -- controls ------------------------------------------------------------------
    @control_route("POST", "/consent")
    def control_consent(self, request: SimRequest) -> SimResponse:
        self.deny_consent = bool((request.json() or {})["deny"])
        return SimResponse.json(200, {"deny": self.deny_consent})

    @control_route("POST", "/meetings/{meetingId}/end")
    def control_end_meeting(self, request: SimRequest) -> SimResponse:
        meeting = self._meeting(request.path_params["meetingId"])
        body = request.json() or {}
        sessions = []
        for index, person in enumerate(body.get("participants", [])):
            join = (_parse_time(person["join_time"], "join_time") if person.get("join_time")
                    else meeting.start_time)
            if "leave_time" in person:
                leave = _parse_time(person["leave_time"], "leave_time")
            else:
                leave = join + float(person["duration"])
            if leave < join:
                raise ValueError(f"participant {index} leaves before joining")
            email = str(person.get("user_email", ""))
            sessions.append(Session(
                id=str(person.get("id") or base64.urlsafe_b64encode(
                    (email or str(person["name"])).encode()).decode().rstrip("=")[:22]),
                user_id=str(16_778_240 + index), name=str(person["name"]), user_email=email,
                join_time=join, leave_time=leave))
        ended_at = (_parse_time(body["ended_at"], "ended_at") if body.get("ended_at")
                    else max([meeting.start_time, *(s.leave_time for s in sessions)]))
        instance = Instance(uuid=meeting.uuid, start_time=meeting.start_time,
                            end_time=ended_at, sessions=sorted(sessions,
                                                               key=lambda s: s.join_time))
        meeting.instances.append(instance)
        # The next occurrence is a new instance, with a UUID of its own.
        meeting.uuid = self._new_uuid()
        self._emit("meeting.ended", {
            "account_id": self.user["account_id"], "operator": self.user["email"],
            "operator_id": self.user["id"], "object": {
                "id": str(meeting.id), "uuid": instance.uuid, "host_id": self.user["id"],
                "topic": meeting.topic, "type": meeting.type,
                "start_time": _iso(instance.start_time), "end_time": _iso(ended_at),
                "duration": meeting.duration, "timezone": meeting.timezone}})
        return SimResponse.json(200, {"id": meeting.id, "uuid": instance.uuid,
                                      "end_time": _iso(ended_at),
                                      "participants": len(sessions)})

    @control_route("POST", "/webhooks")
    def control_webhooks(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        url = str(body.get("url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("url must be an http(s) URL")
        self._configure_webhooks(url, str(body.get("secret") or self.initial_webhook[1]))
        return SimResponse.json(200, {"url": url})

    @route("POST", CONTROL_PREFIX + "webhooks/validate")
    def control_validate_webhooks(self, request: SimRequest) -> SimResponse:
        """Zoom's endpoint.url_validation, sent now (outside the lock: the hub
        answers it); says whether the answer was right."""
        with self.lock:
            sender = self.webhooks
        if sender is None:
            return SimResponse.json(400, {"error": "no webhook URL"})
        plain = secrets.token_urlsafe(16)
        body = json.dumps({"event": "endpoint.url_validation",
                           "event_ts": int(self.clock() * 1000),
                           "payload": {"plainToken": plain}}).encode("utf-8")
        secret = sender.signer.secret
        expected = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
        timestamp = int(self.clock())
        headers = {"Content-Type": "application/json", "User-Agent": sender.user_agent,
                   **sender.signer.headers(body, event_id="", timestamp=timestamp)}
        try:
            answer = requests.post(sender.url, data=body, headers=headers, timeout=3,
                                   allow_redirects=False)
        except requests.RequestException as exc:
            return SimResponse.json(200, {"validated": False, "error": str(exc)})
        try:
            given = answer.json()
        except ValueError:
            given = None
        validated = (answer.status_code == 200 and isinstance(given, dict)
                     and given.get("plainToken") == plain
                     and hmac.compare_digest(str(given.get("encryptedToken", "")), expected))
        return SimResponse.json(200, {"validated": validated, "status": answer.status_code})

    @control_route("GET", "/events")
    def control_events(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, {"events": self.events})

    @control_route("GET", "/meetings")
    def control_meetings(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, {"meetings": [
            {**self._meeting_view(meeting), "instances": [
                {"uuid": instance.uuid, "start_time": _iso(instance.start_time),
                 "end_time": _iso(instance.end_time),
                 "participants": [row.view(report=False) for row in instance.sessions]}
                for instance in meeting.instances]}
            for meeting in self.meetings.values()]})

    @control_route("POST", "/options")
    def control_options(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        unknown = set(body) - {"rate_limits", "daily_meeting_limit", "stale_refresh_error"}
        if unknown:
            raise ValueError(f"unknown options: {', '.join(sorted(unknown))}")
        if "rate_limits" in body:
            limits = {str(key): int(value) for key, value in body["rate_limits"].items()}
            if not set(limits) <= {LIGHT, MEDIUM, HEAVY} or min(limits.values(), default=1) < 1:
                raise ValueError("rate_limits: Light, Medium or Heavy, each at least 1")
            self.rate_limits.update(limits)
        if "daily_meeting_limit" in body:
            self.daily_meeting_limit = int(body["daily_meeting_limit"])
        if "stale_refresh_error" in body:
            if body["stale_refresh_error"] not in {"invalid_grant", "invalid_request"}:
                raise ValueError("stale_refresh_error: invalid_grant or invalid_request")
            self.stale_refresh_error = body["stale_refresh_error"]
        return SimResponse.json(200, {"rate_limits": self.rate_limits,
                                      "daily_meeting_limit": self.daily_meeting_limit,
                                      "stale_refresh_error": self.stale_refresh_error})

    @control_route("POST", "/advance")
    def control_advance(self, request: SimRequest) -> SimResponse:
        seconds = float((request.json() or {})["seconds"])
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        return SimResponse.json(200, {"now": _iso(self.clock.advance(seconds))})


def build(**options: Any) -> ZoomSimulator:
    """An account with one user, accepting the hub's app credentials
    (settings.ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET) and signing events with the
    hub's secret token (ZOOM_WEBHOOK_SECRET); events go nowhere until a URL is
    given (`webhook_url=` or /_sim/webhooks); `options` override anything."""
    from django.conf import settings  # here, so the module imports without Django set up

    defaults = {"client_id": settings.ZOOM_CLIENT_ID,
                "client_secret": settings.ZOOM_CLIENT_SECRET,
                "webhook_secret": settings.ZOOM_WEBHOOK_SECRET}
    return ZoomSimulator(**{**defaults, **options})
