"""The platform client: the one way the hub talks HTTP to a platform.

Every call goes through the same steps, in this order:
  credentials → circuit breaker → shared rate limiter → audit row inserted
  "started" (redacted) → request with (connect, read) timeouts → audit row
  updated with the outcome → classification.

A row still "started" is an exchange cut off before its outcome was known
(the worker was killed). A token endpoint's response body is never logged,
only its size.

Classification decides what happens next:
  2xx, or a status the caller declared expected (`accept`)  → returned
  401 with a token                  → token dropped, one more try
  408, 429, 5xx, network errors     → retried here with exponential backoff
                                      and full jitter, honouring Retry-After,
                                      a bounded number of times
  any other 4xx                     → PermanentError at once, never retried
  3xx                               → PermanentError, never followed: a POST
                                      answered 302 must not become a GET to
                                      another host (nor the hub be steered to
                                      an address of someone else's choosing)

A request that is not idempotent (a POST that creates something) is only
retried when it certainly did not reach the platform: connection refused,
connect timeout, 408, 429 or 503. If it may have been processed (read
timeout, connection lost mid-way, 500/502/504) it raises
OutcomeUnknownError so that the caller reconciles with the platform before
sending it again; the outbox does exactly that.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from django.utils import timezone

from apps.core.audit import LogContext, synclog_finish, synclog_record, synclog_start
from apps.core.auth import AuthProvider, OAuthTokenProvider, TokenError
from apps.core.breaker import BreakerPolicy, CircuitBreaker, CircuitOpenError
from apps.core.models import SyncLog
from apps.core.ratelimit import RateLimit, RateLimiter, RateLimitExceeded
from apps.core.redaction import (
    DEFAULT_SENSITIVE_KEYS,
    normalise_key,
    redact_body,
    redact_headers,
    redact_query,
    scrub,
)

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses that prove the platform did not act on the request.
NOT_PROCESSED_STATUSES = frozenset({408, 429, 503})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_URL_HEADERS = frozenset({normalise_key("Location"), normalise_key("Content-Location")})


@dataclass(frozen=True)
class RetryPolicy:
    """Retries inside one call. Longer-term retries belong to the outbox."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A Retry-After longer than this is not slept through in a worker: the
    # call fails as transient and the outbox schedules the next attempt.
    max_inline_wait: float = 30.0

    def ceiling(self, failed_attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(failed_attempts - 1, 0))

    def backoff(self, failed_attempts: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(n-1))]."""
        return rng.uniform(0, self.ceiling(failed_attempts))


@dataclass(frozen=True)
class ErrorInfo:
    code: str = ""
    message: str = ""
    details: Any = None
    request_id: str = ""


def parse_error_body(response: requests.Response) -> ErrorInfo:
    """Understand the common error shapes: ours/Symphonics' `{"error": {...}}`,
    RFC 9457 problem+json, and OAuth's `{"error", "error_description"}`."""
    try:
        body = response.json()
    except ValueError:
        return ErrorInfo(message=response.text[:300].strip() or response.reason or "")
    if not isinstance(body, dict):
        return ErrorInfo(message=str(body)[:300])
    error = body.get("error")
    if isinstance(error, dict):
        return ErrorInfo(
            code=str(error.get("code") or ""),
            message=str(error.get("message") or ""),
            details=error.get("details"),
            request_id=str(error.get("request_id") or ""),
        )
    if "title" in body or "type" in body:
        return ErrorInfo(
            code=str(body.get("type") or ""),
            message=" — ".join(str(body[k]) for k in ("title", "detail") if body.get(k)),
            details=body.get("issues") or body.get("invalidParams"),
        )
    if isinstance(error, str):
        return ErrorInfo(code=error, message=str(body.get("error_description")
                                                  or body.get("message") or error))
    return ErrorInfo(message=str(body.get("message") or body)[:300])


@dataclass(frozen=True)
class Platform:
    """A platform's connection policy; each domain app declares one."""

    name: str
    base_url: str
    rate_limits: tuple[RateLimit, ...] = ()
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # How long a worker may wait for a rate-limit slot before giving up.
    max_rate_limit_wait: float = 60.0
    sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS
    remote_request_id_header: str = "X-Request-ID"
    error_parser: Callable[[requests.Response], ErrorInfo] = parse_error_body

    def longest_call_seconds(self) -> float:
        """The longest one unauthenticated call (a token request) can take here.

        Every attempt may wait its full rate-limit allowance, then take its
        connect and read timeouts; between attempts the client sleeps its
        backoff, or a Retry-After it accepts to wait out inline.
        """
        retry = self.retry
        attempt = self.max_rate_limit_wait + self.connect_timeout + self.read_timeout
        pauses = sum(max(retry.ceiling(failed), retry.max_inline_wait)
                     for failed in range(1, retry.max_attempts))
        return retry.max_attempts * attempt + pauses


class PlatformError(Exception):
    """A call to a platform did not succeed."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        status_code: int | None = None,
        error: ErrorInfo | None = None,
        retry_after: float | None = None,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.platform = platform
        self.status_code = status_code
        self.error = error or ErrorInfo()
        self.retry_after = retry_after
        self.response = response


class PermanentError(PlatformError):
    """The platform refused the request; sending it again would not help."""


class TransientError(PlatformError):
    """The platform is unavailable or busy; try again later."""

    retryable = True


class OutcomeUnknownError(PlatformError):
    """The request may have been processed; reconcile before resending."""

    retryable = True


# A platform asking for a longer pause is retried after a day anyway (and
# an absurd value must not overflow the outbox's date arithmetic).
MAX_RETRY_AFTER = 86_400.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# Raised by requests while preparing the request, before any byte is sent.
_NEVER_SENT = (
    requests.exceptions.InvalidJSONError, requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema, requests.exceptions.URLRequired,
)


def _may_have_been_sent(exc: requests.RequestException) -> bool:
    """False only when the request certainly never reached the platform."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        return not any(marker in text for marker in (
            "NewConnectionError", "Connection refused", "NameResolutionError",
            "Failed to resolve",
        ))
    return not isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema)


class ClientHealth(Protocol):
    """Told how the account behind a client is doing (see apps.core.connections)."""

    def succeeded(self) -> None: ...

    def refused(self, reason: str) -> None: ...


class PlatformClient:
    def __init__(
        self,
        platform: Platform,
        *,
        auth: AuthProvider | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        key: str = "",
        connection_id: int | None = None,
        secrets: tuple[str, ...] = (),
        health: ClientHealth | None = None,
    ) -> None:
        """`key` names the account (a connection's key) for the breaker and the
        per-connection rate limits, the platform's name when empty;
        `connection_id` goes on every audit row; `secrets` (the connection's
        credentials) are scrubbed from the audit trail wherever they appear;
        `health` hears of successes and of refused credentials."""
        self.platform = platform
        self.auth = auth
        self.session = session or _pooled_session()
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.key = key or platform.name
        self.connection_id = connection_id
        self.secrets = tuple(secret for secret in secrets if secret)
        self.health = health
        self.breaker = CircuitBreaker(self.key, platform.breaker)
        self.limiter = RateLimiter(self.key, platform.rate_limits, application=platform.name,
                                   sleep=sleep)
        # Whatever headers the auth provider sets carry credentials, whatever
        # they are called (an API key in "Ocp-Apim-Subscription-Key"...).
        self._credential_keys: frozenset[str] = frozenset()
        if isinstance(auth, OAuthTokenProvider):
            auth.attach(self._post_token,
                        longest_request_seconds=platform.longest_call_seconds())

    # -- public API ---------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        log: LogContext,
        json: Any = None,
        data: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
        accept: Collection[int] = (),
        authenticated: bool = True,
    ) -> requests.Response:
        method = method.upper()
        log = self._scoped(log)
        url = path if path.startswith(("http://", "https://")) else self._url(path)
        idempotent = method in SAFE_METHODS if idempotent is None else idempotent
        retry = self.platform.retry
        token_refreshed = False
        attempt = 0
        while True:
            attempt += 1
            # The token first: fetching it is a call of its own through this
            # gate, and when the circuit is half-open it is the probe.
            request_headers = self._headers(headers, authenticated)
            self._gate(log)
            # On record before it is sent: a worker killed mid-call leaves it "started".
            entry = self._log_start(log, method, url, request_headers, json, data, params,
                                    attempt)
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, json=json, data=data, params=params, headers=request_headers,
                    timeout=(self.platform.connect_timeout, self.platform.read_timeout),
                    allow_redirects=False,
                )
            except _NEVER_SENT as exc:
                # Our request could not even be built: not the platform's
                # failure, and sending it again would fail the same way.
                self._log_outcome(entry, log, None, _ms_since(started),
                                  error=f"{type(exc).__name__}: {exc}",
                                  status=SyncLog.Status.FAILED)
                raise PermanentError(f"{self.platform.name}: cannot send {method} {path}: {exc}",
                                     platform=self.platform.name) from exc
            except requests.RequestException as exc:
                duration = _ms_since(started)
                self.breaker.record_failure()
                sent = _may_have_been_sent(exc)
                can_retry = (idempotent or not sent) and attempt < retry.max_attempts
                delay = retry.backoff(attempt, self.rng) if can_retry else None
                self._log_outcome(entry, log, None, duration,
                                  error=f"{type(exc).__name__}: {exc}",
                                  status=SyncLog.Status.RETRY if can_retry
                                  else SyncLog.Status.FAILED,
                                  retry_in=delay)
                if can_retry:
                    self.sleep(delay)
                    continue
                message = f"{self.platform.name}: {type(exc).__name__} on {method} {path}"
                if sent and not idempotent:
                    raise OutcomeUnknownError(message, platform=self.platform.name) from exc
                raise TransientError(message, platform=self.platform.name) from exc

            duration = _ms_since(started)
            status = response.status_code
            if status >= 500:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()

            if 200 <= status < 300 or status in accept:
                self._log_outcome(entry, log, response, duration, status=SyncLog.Status.SUCCESS)
                if self.health is not None:
                    self.health.succeeded()
                return response

            if 300 <= status < 400:
                raise self._redirect_refused(entry, log, response, duration, method, path)

            error = self.platform.error_parser(response)
            if status == 401 and authenticated and self.auth and not token_refreshed:
                # The token may have been revoked or expired early: one fresh
                # token, one more try, never a loop.
                self._log_outcome(entry, log, response, duration, status=SyncLog.Status.RETRY,
                                  error=_describe(error))
                self.auth.invalidate(refused=request_headers)
                token_refreshed = True
                attempt -= 1
                continue

            if status in RETRYABLE_STATUSES:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = max(retry_after or 0.0, retry.backoff(attempt, self.rng))
                unknown = not idempotent and status not in NOT_PROCESSED_STATUSES
                can_retry = (not unknown and attempt < retry.max_attempts
                             and delay <= retry.max_inline_wait)
                self._log_outcome(entry, log, response, duration, error=_describe(error),
                                  status=SyncLog.Status.RETRY if can_retry
                                  else SyncLog.Status.FAILED,
                                  retry_in=delay if can_retry else None)
                if can_retry:
                    self.sleep(delay)
                    continue
                cls = OutcomeUnknownError if unknown else TransientError
                raise cls(
                    f"{self.platform.name} answered {status} to {method} {path}: "
                    f"{_describe(error)}",
                    platform=self.platform.name, status_code=status, error=error,
                    retry_after=max(retry_after or 0.0, delay), response=response,
                )

            self._log_outcome(entry, log, response, duration, error=_describe(error),
                              status=SyncLog.Status.CONFLICT if status == 409
                              else SyncLog.Status.FAILED)
            if status == 401 and authenticated and self.health is not None:
                # Refused again with fresh credentials: they are wrong or revoked.
                self.health.refused(f"{self.platform.name} refused our credentials (401): "
                                    f"{_describe(error)}")
            raise PermanentError(
                f"{self.platform.name} refused {method} {path} ({status}): {_describe(error)}",
                platform=self.platform.name, status_code=status, error=error, response=response,
            )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    # -- steps ----------------------------------------------------------------
    def _scoped(self, log: LogContext) -> LogContext:
        """The caller's context, with this client's connection and secrets."""
        if self.connection_id is None and not self.secrets:
            return log
        return replace(log, connection_id=log.connection_id or self.connection_id,
                       secrets=(*log.secrets, *self.secrets))

    def _redirect_refused(self, entry: SyncLog, log: LogContext, response: requests.Response,
                          duration: int, method: str, path: str) -> PermanentError:
        # The platform answered, so this is not a breaker failure; the target
        # is recorded (redacted with the rest of the error) for whoever
        # corrects the base URL.
        location = scrub(redact_query(response.headers.get("Location", ""), self._log_keys),
                         log.secrets) or "no Location header"
        reason = (f"{self.platform.name} answered {response.status_code} to {method} {path}, "
                  f"redirecting to {location}; redirects are never followed")
        self._log_outcome(entry, log, response, duration, status=SyncLog.Status.FAILED,
                          error=reason)
        return PermanentError(reason, platform=self.platform.name,
                              status_code=response.status_code, response=response)

    def _url(self, path: str) -> str:
        return self.platform.base_url.rstrip("/") + "/" + path.lstrip("/")

    def _gate(self, log: LogContext) -> None:
        try:
            self.breaker.before_call()
        except CircuitOpenError as exc:
            self._log_skipped(log, str(exc))
            raise TransientError(str(exc), platform=self.platform.name,
                                 retry_after=exc.retry_in) from exc
        try:
            self.limiter.acquire(max_wait=self.platform.max_rate_limit_wait)
        except RateLimitExceeded as exc:
            self._log_skipped(log, str(exc))
            raise TransientError(str(exc), platform=self.platform.name,
                                 retry_after=exc.wait_seconds) from exc

    def _headers(self, extra: dict[str, str] | None, authenticated: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if authenticated and self.auth:
            try:
                credentials = self.auth.headers()
            except TokenError as exc:
                if not exc.transient and self.health is not None:
                    self.health.refused(f"{self.platform.name} refused to issue a token: {exc}")
                cls = TransientError if exc.transient else PermanentError
                raise cls(f"{self.platform.name}: no access token: {exc}",
                          platform=self.platform.name, status_code=exc.status_code) from exc
            headers.update(credentials)
            self._credential_keys |= {normalise_key(name) for name in credentials}
        headers.update(extra or {})
        return headers

    def _post_token(self, url: str, *, data: dict[str, str], headers: dict[str, str],
                    timeout: Any = None) -> requests.Response:
        # Token errors (400/401) are returned, not raised: the provider turns
        # them into a clear TokenError.
        # The response is the token itself: it is never logged, not even
        # redacted, since a body cut short by a fault cannot be read by key.
        return self.request("POST", url, data=data, headers=headers, authenticated=False,
                            idempotent=True, accept=range(400, 500),
                            log=LogContext(action="auth.token", keep_response_body=False))

    @staticmethod
    def _body_for_log(json: Any, data: dict[str, str] | None) -> tuple[str, str]:
        if json is not None:
            return jsonlib.dumps(json, ensure_ascii=False, default=str), "application/json"
        if data:
            return urlencode(data), "application/x-www-form-urlencoded"
        return "", ""

    @property
    def _log_keys(self) -> frozenset[str]:
        return self.platform.sensitive_keys | self._credential_keys

    def _log_start(
        self,
        log: LogContext,
        method: str,
        url: str,
        request_headers: dict[str, str],
        json: Any,
        data: dict[str, str] | None,
        params: dict[str, Any] | None,
        attempt: int,
    ) -> SyncLog:
        keys = self._log_keys
        body_text, content_type = self._body_for_log(json, data)
        separator = "&" if "?" in url else "?"
        full_url = f"{url}{separator}{urlencode(params, doseq=True)}" if params else url
        return synclog_start(
            platform=self.platform.name,
            log=log,
            direction=SyncLog.Direction.OUTBOUND,
            http_method=method,
            url=full_url,
            request_headers=redact_headers(request_headers, keys),
            request_body=redact_body(body_text, content_type, sensitive_keys=keys,
                                     secrets=log.secrets),
            attempt=attempt,
            sensitive_keys=keys,
        )

    def _log_outcome(
        self,
        entry: SyncLog,
        log: LogContext,
        response: requests.Response | None,
        duration_ms: int,
        *,
        status: str,
        error: str = "",
        retry_in: float | None = None,
    ) -> None:
        keys = self._log_keys
        remote_id = ""
        response_headers: dict[str, str] = {}
        response_body = ""
        # `is not None`: a Response is falsy for 4xx/5xx, whose headers
        # (request ids, Retry-After) matter most.
        if response is not None:
            remote_id = response.headers.get(self.platform.remote_request_id_header, "")
            if not remote_id and response.status_code >= 400:
                remote_id = self.platform.error_parser(response).request_id
            if remote_id:
                logger.info("%s %s %s -> %s (platform request id %s)", self.platform.name,
                            entry.http_method, log.action, response.status_code, remote_id)
            response_headers = redact_headers(dict(response.headers), keys)
            # A redirect's target may carry a token in its query string.
            for name, value in response_headers.items():
                if normalise_key(name) in _URL_HEADERS:
                    response_headers[name] = redact_query(value, keys)
            if log.keep_response_body:
                response_body = redact_body(
                    response.content, response.headers.get("Content-Type", ""),
                    sensitive_keys=keys, secrets=log.secrets)
            else:
                response_body = f"[{log.action} response not stored: {len(response.content)} bytes]"
        synclog_finish(
            entry=entry,
            log=log,
            status=status,
            http_status=response.status_code if response is not None else None,
            response_headers=response_headers,
            response_body=response_body,
            error=error,
            next_retry_at=timezone.now() + timedelta(seconds=retry_in) if retry_in else None,
            duration_ms=duration_ms,
            remote_request_id=remote_id,
            sensitive_keys=keys,
        )

    def _log_skipped(self, log: LogContext, reason: str) -> None:
        synclog_record(platform=self.platform.name, log=log,
                       direction=SyncLog.Direction.OUTBOUND, status=SyncLog.Status.SKIPPED,
                       error=reason)


def _pooled_session() -> requests.Session:
    # One client serves every thread of a worker; requests' default pool of 10
    # connections per host would be dropped and reopened under more threads.
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(error: ErrorInfo) -> str:
    parts = [p for p in (error.code, error.message) if p]
    text = ": ".join(parts) or "no detail"
    if error.request_id:
        text += f" (request id {error.request_id})"
    return text
