"""The ONSS Dimona REST v2 API, on the core platform client."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.core.audit import LogContext
from apps.core.auth import JwtAssertionAuth
from apps.core.breaker import BreakerPolicy
from apps.core.connections import (
    AuthContext,
    client_for,
    connection_or_default,
    register_auth_builder,
)
from apps.core.http import OutcomeUnknownError, Platform, PlatformClient, RetryPolicy
from apps.core.models import Connection, CredentialsUnreadable
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
        # Counted for the hub as a whole: every employer's account calls from
        # the same hub, and that is what would look like an attack.
        rate_limits=(RateLimit(limit=50, seconds=1, per_application=True),
                     RateLimit(limit=2000, seconds=60, per_application=True)),
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


def _dimona_auth(context: AuthContext) -> JwtAssertionAuth:
    """An employer's own ONSS account signs with its own key (client id and
    `private_key_pem` in its credentials); the default connection with empty
    credentials uses the environment's (DIMONA_CLIENT_ID, DIMONA_PRIVATE_KEY)."""
    credentials = context.credentials
    private_key = credentials.extra.get("private_key_pem", "")
    if context.connection.is_default and not (credentials.client_id or private_key):
        configured = dimona_credentials()
        client_id, private_key = configured.client_id, configured.private_key_pem
    else:
        client_id = credentials.client_id
    if not (client_id and private_key):
        raise CredentialsUnreadable(
            f"{context.connection} has no ONSS client id and private key: enter them in "
            f"its credentials.")
    settings_ = context.connection.settings
    token_url = str(settings_.get("token_url") or "") or settings.DIMONA_TOKEN_URL
    return JwtAssertionAuth(
        cache_key=f"{context.token_cache_key}:{client_id}",
        token_url=token_url,
        client_id=client_id,
        private_key_pem=private_key,
        assertion_lifetime=300,
    )


register_auth_builder(PLATFORM, _dimona_auth, settings_names=(
    "DIMONA_TOKEN_URL", "DIMONA_CLIENT_ID", "DIMONA_PRIVATE_KEY", "VAR_DIR"))


def dimona_client(connection: Connection | None = None) -> DimonaClient:
    """The client of this ONSS connection (empty: the default one); one per process."""
    connection = connection_or_default(connection, platform=PLATFORM)
    return DimonaClient(client_for(connection, platform=dimona_platform()))
