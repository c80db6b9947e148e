"""A half-open circuit recovers even when its probe first needs a fresh token."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine

from apps.core.audit import LogContext
from apps.core.auth import ClientCredentialsAuth
from apps.core.breaker import BreakerPolicy, CircuitBreaker
from apps.core.http import Platform, PlatformClient, RetryPolicy, TransientError
from apps.core.store import LocalStore

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
TOKEN_URL = "https://acme.test/oauth/token"
LOG = LogContext(action="thing.fetch")
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


@responses.activate
def test_the_half_open_probe_can_fetch_a_fresh_token():
    platform = Platform(name="acme", base_url=BASE, retry=RetryPolicy(max_attempts=1),
                        breaker=BreakerPolicy(failure_threshold=1, cooldown_seconds=60))
    auth = ClientCredentialsAuth(client_id="hub", client_secret="s", cache_key="acme",
                                 token_url=TOKEN_URL)
    client = PlatformClient(platform, auth=auth, sleep=lambda s: None, rng=random.Random(1))
    # The test moves the clock: breaker and token cache on an in-process store.
    store = LocalStore()
    client.breaker = CircuitBreaker("acme", platform.breaker, store=store)
    auth._store = store
    responses.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 600})
    responses.get(f"{BASE}/things", status=500)
    responses.get(f"{BASE}/things", json={"ok": True})

    with time_machine.travel(T0, tick=False) as traveller:
        with pytest.raises(TransientError):
            client.get("/things", log=LOG)  # 500: the circuit opens
        # The platform recovers; meanwhile the cached token has expired.
        traveller.move_to(T0 + timedelta(hours=1))
        for _ in range(5):  # five cool-downs later it is still open
            try:
                assert client.get("/things", log=LOG).status_code == 200
                return
            except TransientError:
                traveller.shift(timedelta(seconds=61))
    pytest.fail("the circuit never closed: every half-open probe was spent on the "
                "token request, which the breaker refused")
