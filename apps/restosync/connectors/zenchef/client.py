"""Zenchef's partner API (Formitable v1.2) on the core platform client.

Every call goes through `apps.core.http.PlatformClient` (audit row,
breaker, shared rate limit, timeouts, bounded retries with jitter), built
per connection by `apps.core.connections.client_for`. The key is sent as
`ApiKey: <key>` (no prefix), from the connection's credentials `api_key`;
the restaurant uid is in every path: `/api/v1.2/{restaurantUid}/...`.

Facts: ../shared/reference/restosync.md 1.2. The help centre's 100 calls a
minute is counted per connection, which is one restaurant's account.
Which method is safe to resend is decided here, per endpoint: a create
(POST) and the check-in / check-out toggles (PUT, but calling twice undoes)
are never resent once they may have reached Zenchef; the core raises
OutcomeUnknownError instead and the caller reconciles.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils.translation import gettext

from apps.core.audit import LogContext
from apps.core.auth import ApiKeyAuth
from apps.core.breaker import BreakerPolicy
from apps.core.connections import AuthContext, client_for, register_auth_builder
from apps.core.http import (
    OutcomeUnknownError,
    PermanentError,
    Platform,
    PlatformClient,
    RetryPolicy,
    TransientError,
)
from apps.core.models import CredentialsUnreadable
from apps.core.ratelimit import RateLimit
from apps.core.redaction import DEFAULT_SENSITIVE_KEYS
from apps.restosync.types import ConnectorConfig

PLATFORM = "zenchef"
API_PREFIX = "/api/v1.2"
AUTH_HEADER = "ApiKey"
PRODUCTION_API_URL = "https://api.formitable.com"
# Part of each window kept in reserve so network jitter cannot put two
# requests we counted in two windows into one of Zenchef's: 1 %.
MARGIN_SHARE = 0.01
# Zenchef's longest documented windows: 31 days of future bookings, 42 of availability.
MAX_LISTING_DAYS = 31
# Guest contact details in bodies are personal data: masked in the audit trail.
SENSITIVE_KEYS = DEFAULT_SENSITIVE_KEYS | frozenset({"telephone", "email", "phone"})


def zenchef_platform() -> Platform:
    window = settings.ZENCHEF_RATE_WINDOW_SECONDS
    return Platform(
        name=PLATFORM,
        base_url=settings.ZENCHEF_API_URL,
        rate_limits=(RateLimit(limit=settings.ZENCHEF_RATE_LIMIT_PER_MINUTE,
                               seconds=window, margin_seconds=window * MARGIN_SHARE),),
        # Five failures in a row is an outage, not a flaky call: a minute off.
        breaker=BreakerPolicy(failure_threshold=5, cooldown_seconds=60),
        # Zenchef answers 429 without Retry-After: backoff with jitter, up to a
        # window's worth of waiting inline; longer waits go back to the outbox.
        retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=20.0, max_inline_wait=60.0),
        connect_timeout=5.0,
        read_timeout=settings.ZENCHEF_READ_TIMEOUT_SECONDS,
        sensitive_keys=SENSITIVE_KEYS,
    )


def _zenchef_auth(context: AuthContext) -> ApiKeyAuth:
    """The connection's own key: every restaurant has its own (Settings > Partners)."""
    key = context.credentials.api_key
    if not key:
        raise CredentialsUnreadable(
            gettext("%(connection)s has no Zenchef API key: enter it in its credentials.")
            % {"connection": context.connection})
    return ApiKeyAuth(key, header=AUTH_HEADER)


register_auth_builder(PLATFORM, _zenchef_auth)


class BookingNotFound(PermanentError):
    """404 on a booking: it does not exist in this restaurant (or no longer)."""


class ZenchefClient:
    """One restaurant's endpoints; bodies in and out are the wire's JSON."""

    def __init__(self, http: PlatformClient, *, restaurant_uid: str) -> None:
        if not restaurant_uid:
            raise ValueError("a Zenchef client needs the restaurant uid")
        self.http = http
        self.restaurant_uid = restaurant_uid

    def _path(self, *parts: str | int) -> str:
        segments = [quote(str(part), safe="") for part in (self.restaurant_uid, *parts)]
        return f"{API_PREFIX}/{'/'.join(segments)}"

    # -- restaurant ---------------------------------------------------------------
    def get_restaurant(self, *, log: LogContext) -> dict[str, Any]:
        response = self.http.get(f"{API_PREFIX}/restaurants/{quote(self.restaurant_uid, safe='')}",
                                 log=log)
        return _json_object(response)

    # -- bookings -----------------------------------------------------------------
    def create_booking(self, body: dict[str, Any], *, log: LogContext) -> dict[str, Any]:
        """POST booking. Not idempotent: a timeout after sending is an unknown outcome."""
        response = self.http.post(self._path("booking"), json=body, log=log, idempotent=False)
        return _json_object(response, unknown_outcome=True)

    def get_booking(self, uid: str, *, log: LogContext) -> dict[str, Any]:
        response = self.http.get(self._path("booking", uid), log=log, accept=(404,))
        if response.status_code == 404:
            raise BookingNotFound(f"{PLATFORM}: no booking {uid} in {self.restaurant_uid}",
                                  platform=PLATFORM, status_code=404, response=response)
        return _json_object(response)

    def find_booking(self, *, source: str, reference: str, log: LogContext
                     ) -> dict[str, Any] | None:
        """GET booking/external/{source}/{externalReferenceId}: None when there is none."""
        response = self.http.get(self._path("booking", "external", source, reference), log=log,
                                 accept=(404,))
        if response.status_code == 404 or not response.content.strip():
            return None
        body = _json(response)
        return body if isinstance(body, dict) and body.get("uid") else None

    def update_booking(self, uid: str, body: dict[str, Any], *, log: LogContext
                       ) -> dict[str, Any]:
        """PUT booking/{uid}: partial, and the same values twice give the same
        booking, so it is safe to resend."""
        response = self.http.request("PUT", self._path("booking", uid), json=body, log=log,
                                     idempotent=True)
        return _json_object(response)

    def cancel_booking(self, uid: str, *, log: LogContext) -> None:
        """DELETE booking/{uid}; answers an empty body. Cancelling is final, so a
        resend cannot undo it."""
        self.http.request("DELETE", self._path("booking", uid), log=log, idempotent=True)

    def toggle_check_in(self, uid: str, *, log: LogContext) -> dict[str, Any]:
        """PUT booking/checkin/{uid}: a toggle, a second call undoes the first,
        so it is never resent once it may have arrived."""
        response = self.http.request("PUT", self._path("booking", "checkin", uid), log=log,
                                     idempotent=False)
        return _json_object(response, unknown_outcome=True)

    def toggle_check_out(self, uid: str, *, log: LogContext) -> dict[str, Any]:
        """PUT booking/checkout/{uid} (the POS order body is optional): a toggle too."""
        response = self.http.request("PUT", self._path("booking", "checkout", uid), log=log,
                                     idempotent=False)
        return _json_object(response, unknown_outcome=True)

    def future_bookings(self, *, start: date, days: int, log: LogContext
                        ) -> list[dict[str, Any]]:
        """GET booking/{from}/{days}: from today on, at most 31 days."""
        if not 1 <= days <= MAX_LISTING_DAYS:
            raise ValueError(f"days must be 1 to {MAX_LISTING_DAYS}, not {days}")
        response = self.http.get(self._path("booking", start.isoformat(), days), log=log)
        return _json_list(response)

    # -- floor plan ---------------------------------------------------------------
    def tables(self, *, log: LogContext) -> list[dict[str, Any]]:
        return _json_list(self.http.get(self._path("tables"), log=log))

    def areas(self, *, log: LogContext) -> list[dict[str, Any]]:
        return _json_list(self.http.get(self._path("areas"), log=log))

    # -- availability -------------------------------------------------------------
    def day_availability(self, *, day: date, party_size: int, language: str,
                         product_uid: str | None, log: LogContext) -> list[dict[str, Any]]:
        """GET availability/day/{date}/{numberOfPeople}/{language}[?productUid=]."""
        params = {"productUid": product_uid} if product_uid else None
        response = self.http.get(
            self._path("availability", "day", day.isoformat(), party_size, language),
            params=params, log=log)
        return _json_list(response)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _unreadable(response: requests.Response, *, unknown_outcome: bool) -> Exception:
    # A success whose body was cut short: after a create or a toggle we cannot
    # tell what happened, elsewhere asking again is enough.
    cls = OutcomeUnknownError if unknown_outcome else TransientError
    return cls(f"{PLATFORM}: unreadable {response.status_code} answer to "
               f"{response.request.method} {response.request.path_url}",
               platform=PLATFORM, status_code=response.status_code, response=response)


def _json_object(response: requests.Response, *, unknown_outcome: bool = False
                 ) -> dict[str, Any]:
    body = _json(response)
    if isinstance(body, dict):
        return body
    raise _unreadable(response, unknown_outcome=unknown_outcome)


def _json_list(response: requests.Response) -> list[dict[str, Any]]:
    body = _json(response)
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    raise _unreadable(response, unknown_outcome=False)


def zenchef_client(config: ConnectorConfig) -> ZenchefClient:
    """The client of this config's connection and restaurant.

    The config's base URL overrides the setting; the connection's own base
    URL, when set, wins over both (as for every connection of the core).
    """
    platform = zenchef_platform()
    if config.base_url:
        platform = replace(platform, base_url=config.base_url)
    return ZenchefClient(client_for(config.connection, platform=platform,
                                    client_class=PlatformClient),
                         restaurant_uid=config.restaurant_uid)
