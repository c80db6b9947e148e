"""The ONSS Dimona REST v2 API, on the core platform client."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings

from apps.core.audit import LogContext
from apps.core.auth import JwtAssertionAuth
from apps.core.breaker import BreakerPolicy
from apps.core.http import OutcomeUnknownError, Platform, PlatformClient, RetryPolicy
from apps.core.ratelimit import RateLimit
from apps.dimona.credentials import dimona_credentials
from apps.dimona.mapping import (
    DeclarationResult,
    Period,
    parse_declaration_status,
    parse_period,
)

PLATFORM = "dimona"


def dimona_platform() -> Platform:
    return Platform(
        name=PLATFORM,
        base_url=settings.DIMONA_API_URL,
        # The ONSS publishes no quota; this keeps a burst (the evening cron
        # for a big employer, plus its polls) from looking like an attack.
        rate_limits=(RateLimit(limit=50, seconds=1), RateLimit(limit=2000, seconds=60)),
        breaker=BreakerPolicy(failure_threshold=5, cooldown_seconds=60),
        retry=RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0, max_inline_wait=15),
        connect_timeout=5,
        read_timeout=settings.DIMONA_READ_TIMEOUT_SECONDS,
    )


class DimonaClient:
    def __init__(self, http: PlatformClient) -> None:
        self.http = http

    def submit(self, payload: dict[str, Any], *, log: LogContext) -> str:
        """POST a declaration; returns the ONSS declaration id.

        Not idempotent: the ONSS accepts a second identical In and refuses it
        later as a duplicate period, so a timeout here is an unknown outcome.
        """
        response = self.http.post("declarations", json=payload, log=log, idempotent=False)
        location = response.headers.get("Location", "")
        declaration_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not declaration_id.isdigit():
            raise OutcomeUnknownError(
                f"dimona: 201 without a usable Location header ({location!r})",
                platform=PLATFORM, status_code=response.status_code)
        return declaration_id

    def fetch(self, declaration_id: str, *, log: LogContext) -> DeclarationResult | None:
        """The processing result, or None while the ONSS has not processed it (404)."""
        response = self.http.get(f"declarations/{declaration_id}", log=log, accept=(404,))
        if response.status_code == 404:
            return None
        return parse_declaration_status(response.json())

    def search_periods(self, *, enterprise_number: str, ssin: str, start_date: str,
                       end_date: str, log: LogContext) -> list[Period]:
        """Periods of one worker for one employer around the given dates."""
        body = {
            "employer": {"enterpriseNumber": enterprise_number},
            "worker": {"ssin": ssin},
            "startDate": start_date,
            "endDate": end_date,
        }
        periods: list[Period] = []
        url: str = "periods/search"
        params: dict[str, Any] | None = {"pageSize": 50, "page": 1}
        while url:
            # A search changes nothing: safe to retry.
            response = self.http.post(url, json=body, params=params, log=log, idempotent=True)
            data = response.json()
            periods += [parse_period(item) for item in data.get("items") or []]
            url, params = data.get("next") or "", None
        return periods


@cache
def _client_for(api_url: str, token_url: str, client_id: str, read_timeout: float
                ) -> DimonaClient:
    credentials = dimona_credentials()
    auth = JwtAssertionAuth(
        cache_key=f"dimona:{client_id}",
        token_url=token_url,
        client_id=credentials.client_id,
        private_key_pem=credentials.private_key_pem,
        assertion_lifetime=300,
    )
    return DimonaClient(PlatformClient(dimona_platform(), auth=auth))


def dimona_client() -> DimonaClient:
    """The client for the configured ONSS (or its simulator); one per process."""
    return _client_for(settings.DIMONA_API_URL, settings.DIMONA_TOKEN_URL,
                       settings.DIMONA_CLIENT_ID, settings.DIMONA_READ_TIMEOUT_SECONDS)
