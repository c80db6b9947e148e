"""Test platforms: "acme", whose connections authenticate with an API key, and
"oauthy", whose connections fetch a token with their own client id and secret."""

from __future__ import annotations

from apps.core.audit import LogContext
from apps.core.auth import ClientCredentialsAuth
from apps.core.breaker import BreakerPolicy
from apps.core.connections import (
    AuthContext,
    client_for,
    connection_create,
    register_auth_builder,
)
from apps.core.http import Platform, RetryPolicy
from apps.core.models import Connection, Credentials
from apps.core.operations import Done, operation_handler
from apps.core.ratelimit import RateLimit

BASE = "https://acme.test/api"
LOG = LogContext(action="thing.fetch")
# One try per call, a breaker that opens at the first 5xx, a limiter that
# refuses at once instead of waiting: each test sees one effect at a time.
PLATFORM = Platform(name="acme", base_url=BASE, retry=RetryPolicy(max_attempts=1),
                    breaker=BreakerPolicy(failure_threshold=1, cooldown_seconds=60),
                    max_rate_limit_wait=0)


def platform(*limits: RateLimit) -> Platform:
    return Platform(name=PLATFORM.name, base_url=BASE, retry=PLATFORM.retry,
                    breaker=PLATFORM.breaker, max_rate_limit_wait=0, rate_limits=limits)


def acme_connection(name: str, api_key: str = "", **options) -> Connection:
    credentials = Credentials(api_key=api_key) if api_key else None
    return connection_create(platform="acme", name=name, credentials=credentials, **options)


@operation_handler("test.acme.fetch")
def fetch_thing(operation, *, reconcile: bool) -> Done:
    response = client_for(operation.connection, platform=PLATFORM).get("/things", log=LOG)
    return Done({"status": response.status_code})


TOKEN_URL = "https://oauthy.test/token"
OAUTHY = Platform(name="oauthy", base_url="https://oauthy.test/api",
                  retry=RetryPolicy(max_attempts=1))


def _oauthy_auth(context: AuthContext) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(cache_key=context.token_cache_key, token_url=TOKEN_URL,
                                 client_id=context.credentials.client_id,
                                 client_secret=context.credentials.client_secret)


register_auth_builder("oauthy", _oauthy_auth)
