"""Callers needing a token at once make one token request, not one each.

Each thread has its own provider (as each worker process has), sharing only
the store; the token endpoint is slow so that every caller arrives while
the first request is still in flight.
"""

from __future__ import annotations

import threading
import time

import pytest
import responses
from django.conf import settings

from apps.core.auth import ClientCredentialsAuth
from apps.core.store import LocalStore, RedisStore

TOKEN_URL = "https://acme.test/oauth/token"
CALLERS = 8


def _slow_token_endpoint(calls: list[float]):
    def answer(request):
        calls.append(time.monotonic())
        time.sleep(0.2)
        return 200, {}, f'{{"access_token": "token-{len(calls)}", "expires_in": 600}}'

    return answer


def _headers_from_concurrent_callers(store_for_caller) -> list[str]:
    barrier = threading.Barrier(CALLERS)
    headers: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        provider = ClientCredentialsAuth(client_id="hub", client_secret="s3cret",
                                         cache_key="acme", token_url=TOKEN_URL,
                                         store=store_for_caller())
        barrier.wait(timeout=5)
        try:
            headers.append(provider.headers()["Authorization"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    return headers


@responses.activate
def test_it_makes_one_token_request_for_concurrent_callers_in_process():
    calls: list[float] = []
    responses.add_callback(responses.POST, TOKEN_URL, callback=_slow_token_endpoint(calls))
    store = LocalStore()

    headers = _headers_from_concurrent_callers(lambda: store)

    assert len(calls) == 1
    assert headers == ["Bearer token-1"] * CALLERS


@pytest.mark.redis
@responses.activate
def test_it_makes_one_token_request_for_concurrent_callers_on_redis():
    calls: list[float] = []
    responses.add_callback(responses.POST, TOKEN_URL, callback=_slow_token_endpoint(calls))

    # A connection of its own per caller, as separate processes would have.
    headers = _headers_from_concurrent_callers(lambda: RedisStore(settings.REDIS_URL))

    assert len(calls) == 1
    assert headers == ["Bearer token-1"] * CALLERS
