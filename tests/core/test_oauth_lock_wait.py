"""The refresh lock is waited for longer than the longest token request can take.

Computed from the policy the token request really runs with (the
provider's platform with the connection's own timeouts), checked here
against the platform client driven through its worst case with those very
values, and against what the refresh transaction really sets in PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.db import OperationalError
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from apps.core import oauth
from apps.core.audit import LogContext
from apps.core.auth import TokenError
from apps.core.http import PlatformClient, PlatformError
from apps.core.models import Connection
from apps.core.oauth import (
    oauth_access_token,
    oauth_provider_for,
    refresh_lock_wait_seconds,
    registered_oauth_providers,
    token_platform,
)
from tests.core.oauth_stub import PLATFORM, OAuthConnectionFactory
from tests.core.virtual_time import CeilingRandom, SlowLimiter, VirtualTime


def _worst_token_request(platform) -> float:
    """Seconds the platform client spends on a token request that fails as slowly as it can."""
    time = VirtualTime()
    client = PlatformClient(platform, sleep=time.sleep, rng=CeilingRandom())
    client.limiter = SlowLimiter(time)
    retry = platform.retry
    attempts = []

    def answer(method, url, **kwargs):
        attempts.append(url)
        time.sleep(platform.connect_timeout + platform.read_timeout)
        if retry.max_inline_wait >= retry.ceiling(len(attempts)):
            response = requests.Response()
            response.status_code = 503
            response.headers["Retry-After"] = str(int(retry.max_inline_wait))
            response._content = b"{}"
            return response
        raise requests.ReadTimeout("no answer")

    client.session.request = answer
    with pytest.raises(PlatformError):
        client.request("POST", platform.base_url + "/token", data={"grant_type": "x"},
                       authenticated=False, idempotent=True,
                       log=LogContext(action="oauth.refresh", keep_response_body=False))
    assert len(attempts) == retry.max_attempts
    return time.elapsed


@pytest.mark.django_db
def test_it_outlasts_the_slowest_token_request_of_every_provider(oauth_stub, settings):
    assert PLATFORM in registered_oauth_providers()
    for name, provider in registered_oauth_providers().items():
        platform = token_platform(Connection(platform=name), provider)
        worst = _worst_token_request(platform)
        assert worst <= platform.longest_call_seconds()
        assert refresh_lock_wait_seconds(platform) >= worst + settings.DATABASE_LOCK_TIMEOUT_SECONDS


@pytest.mark.django_db
def test_it_counts_the_connections_own_timeouts(oauth_stub):
    provider = oauth_provider_for(PLATFORM)
    slow = Connection(platform=PLATFORM, settings={"read_timeout": 90})
    platform = token_platform(slow, provider)

    assert platform.read_timeout == 90
    assert refresh_lock_wait_seconds(platform) >= _worst_token_request(platform)
    assert refresh_lock_wait_seconds(platform) > refresh_lock_wait_seconds(
        token_platform(Connection(platform=PLATFORM), provider))


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_waits_that_long_for_the_row_lock_in_postgresql(oauth_stub):
    oauth_stub.give_refresh_token("r0")
    connection = OAuthConnectionFactory(tokens__access="a0", tokens__refresh="r0",
                                        tokens__expires_in=timedelta(seconds=-1))
    connection.settings = {"read_timeout": 45}
    connection.save(update_fields=["settings"])
    expected = refresh_lock_wait_seconds(token_platform(connection,
                                                        oauth_provider_for(PLATFORM)))

    with CaptureQueriesContext(db) as queries:
        oauth_access_token(connection=connection)

    raised = [q for q in queries.captured_queries if "set_config('lock_timeout'" in q["sql"]]
    assert f"'{round(expected * 1000)}ms'" in raised[0]["sql"]
    lock = next(i for i, q in enumerate(queries.captured_queries) if "FOR UPDATE" in q["sql"])
    assert queries.captured_queries.index(raised[0]) < lock


@pytest.mark.django_db(transaction=True)
def test_it_retries_sqlite_until_the_same_deadline(oauth_stub, monkeypatch):
    if db.vendor != "sqlite":
        pytest.skip("SQLite's write lock is retried; PostgreSQL waits in lock_timeout")
    connection = OAuthConnectionFactory()
    platform = token_platform(connection, oauth_provider_for(PLATFORM))
    time = VirtualTime()
    busy = {"left": 3}
    real_locked = Connection.objects.locked

    def locked():
        if busy["left"]:
            busy["left"] -= 1
            raise OperationalError("database is locked")
        return real_locked()

    monkeypatch.setattr(Connection.objects, "locked", locked)
    row = oauth.run_locked(connection.pk, platform, lambda r: r, clock=lambda: time.elapsed,
                           sleep=time.sleep)
    assert row.pk == connection.pk and busy["left"] == 0

    busy["left"] = 10**6
    with pytest.raises(TokenError) as waited:
        oauth.run_locked(connection.pk, platform, lambda r: r, clock=lambda: time.elapsed,
                         sleep=time.sleep)
    assert waited.value.transient
    assert time.elapsed >= refresh_lock_wait_seconds(platform)
