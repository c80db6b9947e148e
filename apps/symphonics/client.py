"""The Symphonics CRM and validation API, on the core platform client.

Authentication is OAuth2 client credentials against `{SYMPHONICS_API_URL}/auth/token`
(form-encoded), the token cached in the shared store and refreshed before it
expires, once for all workers. Quotas, retries, the breaker, timeouts, the
audit trail and error parsing (`{"error": {code, message, details[],
request_id}}`, the request id logged) all come from `apps.core.http`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from apps.core.audit import LogContext
from apps.core.auth import ClientCredentialsAuth
from apps.core.breaker import BreakerPolicy
from apps.core.connections import (
    AuthContext,
    client_for,
    connection_or_default,
    register_auth_builder,
)
from apps.core.http import (
    OutcomeUnknownError,
    PermanentError,
    Platform,
    PlatformClient,
    RetryPolicy,
    TransientError,
)
from apps.core.models import Connection, CredentialsUnreadable
from apps.core.ratelimit import RateLimit
from apps.core.store import SharedStore
from apps.symphonics.mapping import (
    PdlCheck,
    PdlMatch,
    RemoteIntervention,
    UserCheck,
    conflict_existing_id,
    parse_intervention,
    parse_pdl_check,
    parse_pdl_match,
    parse_user_check,
)

PLATFORM = "symphonics"
TOKEN_PATH = "/auth/token"  # noqa: S105 - a path, not a secret
MINUTES_PER_DAY = 24 * 60
# Part of each window kept in reserve, so that network jitter cannot put two
# requests we counted in two of our windows into one of Symphonics' windows:
# 1 % of the window (0.6 s of a minute), never less than a quarter second.
MARGIN_SHARE = 0.01
MIN_MARGIN_SECONDS = 0.25
# Settings the default connection's client is built from; a change of any of
# them builds a new one.
CLIENT_SETTINGS = (
    "SYMPHONICS_API_URL", "SYMPHONICS_CLIENT_ID", "SYMPHONICS_CLIENT_SECRET",
    "SYMPHONICS_RATE_LIMIT_PER_MINUTE", "SYMPHONICS_RATE_LIMIT_PER_DAY",
    "SYMPHONICS_RATE_WINDOW_SECONDS", "SYMPHONICS_READ_TIMEOUT_SECONDS",
)


def _limit(limit: int, seconds: float) -> RateLimit:
    return RateLimit(limit=limit, seconds=seconds,
                     margin_seconds=max(seconds * MARGIN_SHARE, MIN_MARGIN_SECONDS))


def symphonics_platform() -> Platform:
    minute = settings.SYMPHONICS_RATE_WINDOW_SECONDS
    return Platform(
        name=PLATFORM,
        base_url=settings.SYMPHONICS_API_URL,
        # The contract's quotas: 100 requests a minute and 5,000 a day per client.
        rate_limits=(_limit(settings.SYMPHONICS_RATE_LIMIT_PER_MINUTE, minute),
                     _limit(settings.SYMPHONICS_RATE_LIMIT_PER_DAY, minute * MINUTES_PER_DAY)),
        # Six consecutive failures, one call's whole budget (1 + 5 retries): an
        # outage rather than a flaky request. A minute, then one trial call.
        breaker=BreakerPolicy(failure_threshold=6, cooldown_seconds=60),
        # The contract: exponential backoff on 429 and 5xx, at most 5 retries.
        # A Retry-After up to a minute (one quota window) is waited out here.
        retry=RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=30.0, max_inline_wait=60.0),
        connect_timeout=5.0,
        read_timeout=settings.SYMPHONICS_READ_TIMEOUT_SECONDS,
    )


class InterventionExists(PermanentError):
    """409 CONFLICT on a create: Symphonics already has this external_id."""

    def __init__(self, error: PermanentError, existing_id: str) -> None:
        super().__init__(str(error), platform=error.platform, status_code=error.status_code,
                         error=error.error, response=error.response)
        self.existing_id = existing_id


class SymphonicsClient:
    def __init__(self, http: PlatformClient) -> None:
        self.http = http

    # -- CRM ----------------------------------------------------------------------
    def create_intervention(self, payload: dict[str, Any], *, log: LogContext
                            ) -> RemoteIntervention:
        """POST /crm/interventions.

        Not idempotent: a timeout after sending is an unknown outcome, which
        the caller reconciles by external_id before sending again. A 409
        CONFLICT means Symphonics has it already: InterventionExists.
        """
        try:
            response = self.http.post("/crm/interventions", json=payload, log=log,
                                      idempotent=False)
        except PermanentError as exc:
            if exc.status_code == 409:
                raise InterventionExists(exc, conflict_existing_id(exc.error.details)) from exc
            raise
        created = parse_intervention(_json(response, unknown_outcome=True))
        if not created.symphonics_id:
            raise OutcomeUnknownError(
                f"{PLATFORM}: {response.status_code} without an intervention id",
                platform=PLATFORM, status_code=response.status_code)
        return created

    def get_intervention(self, symphonics_id: str, *, log: LogContext) -> RemoteIntervention:
        response = self.http.get(f"/crm/interventions/{quote(symphonics_id, safe='')}", log=log)
        return parse_intervention(_json(response))

    def find_intervention(self, external_id: str, *, log: LogContext
                          ) -> RemoteIntervention | None:
        """The intervention created with this external_id, if any.

        Inferred (not in the contract): GET /crm/interventions?external_id=
        answering {"items": [...]}; used to reconcile a create whose answer
        was lost.
        """
        response = self.http.get("/crm/interventions", params={"external_id": external_id},
                                 log=log)
        items = _json(response).get("items") or []
        return parse_intervention(items[0]) if items else None

    def add_documents(self, symphonics_id: str, payload: dict[str, Any], *,
                      log: LogContext) -> None:
        """PATCH /crm/interventions/{id} with new documents ("add proof").

        The answer's "status" is "updated", an acknowledgement rather than the
        intervention's status, so nothing of it is kept.
        """
        self.http.patch(f"/crm/interventions/{quote(symphonics_id, safe='')}", json=payload,
                        log=log, idempotent=False)

    # -- validation -----------------------------------------------------------------
    def validate_pdl(self, pdl: str, *, log: LogContext) -> PdlCheck:
        # 400 (bad or unusable PDL) and 404 (unknown PDL) are answers, not failures.
        response = self.http.get(f"/validation/pdl/{quote(pdl, safe='')}", log=log,
                                 accept=(400, 404))
        return parse_pdl_check(pdl, response.status_code, _json(response))

    def lookup_pdl(self, *, street: str, postal_code: str, city: str, customer_name: str,
                   log: LogContext) -> PdlMatch | None:
        body = {"address": {"street": street, "postal_code": postal_code, "city": city},
                "customer_name": customer_name}
        # A look-up changes nothing at Symphonics, so it is safe to retry.
        response = self.http.post("/validation/pdl/lookup", json=body, log=log,
                                  idempotent=True, accept=(404,))
        if response.status_code == 404:
            return None
        return parse_pdl_match(_json(response))

    def validate_user(self, email: str, *, log: LogContext) -> UserCheck:
        response = self.http.get(f"/validation/user/{quote(email, safe='@')}", log=log,
                                 accept=(404,))
        return parse_user_check(response.status_code, _json(response))


def _json(response: requests.Response, *, unknown_outcome: bool = False) -> dict[str, Any]:
    """The JSON object of an answer. An unreadable success (a body cut short)
    is a transient failure; after a create, an unknown outcome."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    if not 200 <= response.status_code < 300:
        return {}  # an accepted refusal without a body still says "no"
    cls = OutcomeUnknownError if unknown_outcome else TransientError
    raise cls(f"{PLATFORM}: unreadable {response.status_code} answer to "
              f"{response.request.method} {response.request.path_url}",
              platform=PLATFORM, status_code=response.status_code, response=response)


def symphonics_auth(*, store: SharedStore | None = None) -> ClientCredentialsAuth:
    """The environment's client (SYMPHONICS_CLIENT_ID and SECRET), for the default connection."""
    api_url = settings.SYMPHONICS_API_URL.rstrip("/")
    return ClientCredentialsAuth(
        # Per client and per environment: a sandbox token is no good in production.
        cache_key=f"symphonics:{settings.SYMPHONICS_CLIENT_ID}@{api_url}",
        token_url=api_url + TOKEN_PATH,
        client_id=settings.SYMPHONICS_CLIENT_ID,
        client_secret=settings.SYMPHONICS_CLIENT_SECRET,
        store=store,
    )


def _symphonics_auth(context: AuthContext) -> ClientCredentialsAuth:
    """A connection's own client id and secret; the environment's for the
    default connection whose credentials are empty."""
    credentials = context.credentials
    api_url = context.platform.base_url.rstrip("/")
    if context.connection.is_default and not credentials.client_id:
        client_id, secret = settings.SYMPHONICS_CLIENT_ID, settings.SYMPHONICS_CLIENT_SECRET
    else:
        client_id, secret = credentials.client_id, credentials.client_secret
    if not (client_id and secret):
        raise CredentialsUnreadable(
            f"{context.connection} has no Symphonics client id and secret: enter them in "
            f"its credentials.")
    return ClientCredentialsAuth(
        # Per client and per environment: a sandbox token is no good in production.
        cache_key=f"{context.token_cache_key}:{client_id}@{api_url}",
        token_url=api_url + TOKEN_PATH,
        client_id=client_id,
        client_secret=secret,
    )


register_auth_builder(PLATFORM, _symphonics_auth, settings_names=CLIENT_SETTINGS)


def symphonics_client(connection: Connection | None = None) -> SymphonicsClient:
    """The client of this Symphonics connection (empty: the default one); one per process."""
    connection = connection_or_default(connection, platform=PLATFORM)
    # Looked up here, not bound at import, so that tests may swap the class.
    return SymphonicsClient(client_for(connection, platform=symphonics_platform(),
                                       client_class=PlatformClient))
