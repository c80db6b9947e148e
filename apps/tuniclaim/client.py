"""MY TUNICLAIM's API on the core platform client.

The platform has no public documentation; the hub speaks the format of
docs/tuniclaim.md (the field names of the ARS code). Every call goes through
`apps.core.http.PlatformClient` (audit row, breaker, shared rate limit,
timeouts, bounded retries with jitter), built per connection by
`apps.core.connections.client_for`. Authentication is an optional bearer
token: the connection's own `api_key`, or `TUNICLAIM_API_TOKEN` for the
default connection, or nothing (the ARS sample calls the API without one).

Bodies are read with `parse_float=Decimal`, so an amount sent as a JSON
number (150.5) reaches the mapper as the Decimal the text said, never
through a binary float.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from apps.core.audit import LogContext
from apps.core.auth import ApiKeyAuth
from apps.core.breaker import BreakerPolicy
from apps.core.connections import (
    AuthContext,
    client_for,
    connection_or_default,
    register_auth_builder,
)
from apps.core.http import Platform, PlatformClient, RetryPolicy, TransientError
from apps.core.models import Connection
from apps.core.ratelimit import RateLimit
from apps.core.redaction import DEFAULT_SENSITIVE_KEYS

PLATFORM = "tuniclaim"
# How the audit rows of a bordereau's calls name it (by its platform id).
BORDEREAU_ENTITY = "tuniclaim.bordereau"
BORDEREAUX_PATH = "/api/bordereaux"
# No quota is published. 3,000 calls a minute (50 a second) keeps a full
# import of 2,000 batches (one listing call per page and one bulletins call
# per batch) to under a minute of calls, while a runaway loop cannot flood
# the ARS server, which sits behind a VPN and was never sized for bursts.
RATE_LIMIT_PER_MINUTE = 3000
# Claim bodies carry the insured's and the beneficiary's names: masked in
# the audit trail like the rest of the hub's personal data.
SENSITIVE_KEYS = DEFAULT_SENSITIVE_KEYS | frozenset({"nomassure", "nombeneficiaire"})
# Settings the default connection's client is built from.
CLIENT_SETTINGS = ("TUNICLAIM_API_URL", "TUNICLAIM_API_TOKEN", "TUNICLAIM_READ_TIMEOUT_SECONDS")


def tuniclaim_platform() -> Platform:
    return Platform(
        name=PLATFORM,
        base_url=settings.TUNICLAIM_API_URL,
        rate_limits=(RateLimit(limit=RATE_LIMIT_PER_MINUTE, seconds=60.0, margin_seconds=0.6),),
        # Ten consecutive failures: more than two calls' whole budgets (1 + 3
        # tries each), so one batch the platform fails to serve (a 500 on its
        # bulletins) does not stop the rest of the import; three in a row is
        # the server down. A minute off, then one trial call.
        breaker=BreakerPolicy(failure_threshold=10, cooldown_seconds=60),
        # The ARS integration's rule: 3 retries with backoff (1 s, 2 s, 4 s
        # ceilings, full jitter); a Retry-After up to 30 s is waited out here.
        retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0, max_inline_wait=30.0),
        connect_timeout=5.0,
        read_timeout=settings.TUNICLAIM_READ_TIMEOUT_SECONDS,
        sensitive_keys=SENSITIVE_KEYS,
    )


def _tuniclaim_auth(context: AuthContext) -> ApiKeyAuth | None:
    """The connection's own token; the environment's for the default
    connection with empty credentials; none when neither is set."""
    token = context.credentials.api_key
    if not token and context.connection.is_default:
        token = settings.TUNICLAIM_API_TOKEN
    if not token:
        return None
    return ApiKeyAuth(token, header="Authorization", prefix="Bearer ")


register_auth_builder(PLATFORM, _tuniclaim_auth, settings_names=CLIENT_SETTINGS)


@dataclass(frozen=True)
class Page:
    """One page of the bordereaux listing, as received."""

    items: list[dict[str, Any]]
    page: int
    total_pages: int


class TuniclaimClient:
    """The four endpoints; bodies in and out are the wire's JSON."""

    def __init__(self, http: PlatformClient) -> None:
        self.http = http

    def bordereaux_page(self, *, page: int, page_size: int,
                        updated_since: str | None) -> Page:
        """GET /api/bordereaux: `{"bordereaux": [...], "page", "totalPages"}`,
        or a bare array, which is the one and only page."""
        params: dict[str, Any] = {"page": page, "pageSize": page_size}
        if updated_since:
            params["updatedSince"] = updated_since
        response = self.http.get(BORDEREAUX_PATH, params=params,
                                 log=LogContext(action="tuniclaim.list_bordereaux",
                                                context=f"page {page}"))
        body = _json(response)
        if isinstance(body, list):
            return Page(items=_records(body), page=1, total_pages=1)
        if isinstance(body, dict) and isinstance(body.get("bordereaux"), list):
            return Page(items=_records(body["bordereaux"]),
                        page=_int(body.get("page"), page),
                        total_pages=_int(body.get("totalPages"), page))
        raise _unreadable(response)

    def bulletins(self, *, bordereau_external_id: str) -> list[dict[str, Any]]:
        """GET /api/bordereaux/{id}/bulletins: an array of BS, each with its items."""
        response = self.http.get(self._path(bordereau_external_id, "bulletins"),
                                 log=self._log("tuniclaim.list_bulletins", bordereau_external_id))
        body = _json(response)
        if isinstance(body, dict) and isinstance(body.get("bulletins"), list):
            # The same leniency as the listing: an array wrapped in an object.
            body = body["bulletins"]
        if not isinstance(body, list):
            raise _unreadable(response)
        return _records(body)

    def put_status(self, *, bordereau_external_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT /api/bordereaux/{id}/status. The platform keeps the last status
        it was sent for a BS, so the same body twice is one change: safe to retry."""
        response = self.http.request("PUT", self._path(bordereau_external_id, "status"),
                                     json=body, idempotent=True,
                                     log=self._log("tuniclaim.put_status", bordereau_external_id))
        return _object(response)

    def put_payment(self, *, bordereau_external_id: str, body: dict[str, Any]
                    ) -> dict[str, Any]:
        """PUT /api/bordereaux/{id}/payment; a state, not an increment: safe to retry."""
        response = self.http.request("PUT", self._path(bordereau_external_id, "payment"),
                                     json=body, idempotent=True,
                                     log=self._log("tuniclaim.put_payment",
                                                   bordereau_external_id))
        return _object(response)

    @staticmethod
    def _path(bordereau_external_id: str, what: str) -> str:
        return f"{BORDEREAUX_PATH}/{quote(str(bordereau_external_id), safe='')}/{what}"

    @staticmethod
    def _log(action: str, bordereau_external_id: str) -> LogContext:
        return LogContext(action=action, entity_type=BORDEREAU_ENTITY,
                          entity_id=str(bordereau_external_id))


def _json(response: requests.Response) -> Any:
    """The body, amounts as Decimal; an empty body is None."""
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise _unreadable(response) from None


def _object(response: requests.Response) -> dict[str, Any]:
    # A PUT may answer 204 or an acknowledgement; either is a success.
    body = _json(response)
    return body if isinstance(body, dict) else {}


def _records(items: list[Any]) -> list[dict[str, Any]]:
    """The records of a list; anything but an object is kept as a record the
    mapper refuses, so one odd entry is quarantined, not the whole page lost."""
    return [item if isinstance(item, dict) else {"_unreadable": item} for item in items]


def _int(value: Any, default: int) -> int:
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):
        return default


def _unreadable(response: requests.Response) -> TransientError:
    # A 200 whose body is cut short or not the expected shape: asking again
    # may get the whole answer, and every call here only reads or is idempotent.
    return TransientError(
        f"{PLATFORM}: unreadable {response.status_code} answer to "
        f"{response.request.method} {response.request.path_url}",
        platform=PLATFORM, status_code=response.status_code, response=response)


def tuniclaim_connection() -> Connection:
    """The deployment's MY TUNICLAIM connection (created on first use)."""
    return connection_or_default(None, platform=PLATFORM)


def tuniclaim_client(connection: Connection | None = None) -> TuniclaimClient:
    """The client of this connection (none: the default one); one per process."""
    connection = connection_or_default(connection, platform=PLATFORM)
    # Looked up here, not bound at import, so that tests may swap the class.
    return TuniclaimClient(client_for(connection, platform=tuniclaim_platform(),
                                      client_class=PlatformClient))
