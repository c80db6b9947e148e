"""Without Redis, breakers, rate limits and token locks are shared through the
database: what one process does, the others and the health page see.

A thread stands for another process: it has its own database connection and
its own DatabaseStore, and shares nothing else with the test. The tests are
transactional, so what a thread commits is what the test reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import responses
from django.db import connection, transaction

from apps.core import store as store_module
from apps.core.auth import ClientCredentialsAuth
from apps.core.breaker import OPEN, BreakerPolicy, CircuitBreaker, CircuitOpenError
from apps.core.models import SharedState, SharedWindowHit
from apps.core.platforms import registered_platforms
from apps.core.ratelimit import RateLimit, RateLimiter
from apps.core.selectors import platform_health
from apps.core.store import DatabaseStore, shared_state_purge, shared_store

pytestmark = pytest.mark.django_db(transaction=True)


def _in_other_processes(work: Callable[[], object], *, count: int = 1) -> list[object]:
    """`work()` in `count` threads started together, each on its own connection."""
    barrier = threading.Barrier(count)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=5)
            results.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return results


@pytest.fixture
def without_redis(settings):
    settings.REDIS_URL = ""
    store_module._store_for.cache_clear()
    yield
    store_module._store_for.cache_clear()


def test_it_is_the_shared_store_when_no_redis_is_configured(without_redis):
    assert isinstance(shared_store(), DatabaseStore)


def test_it_shows_on_the_health_page_the_breaker_a_worker_opened(without_redis):
    platform = registered_platforms()[0]
    key = f"{platform.name}:default"

    def worker_sees_every_call_fail() -> None:
        breaker = CircuitBreaker(key, platform.breaker, store=DatabaseStore())
        for _ in range(platform.breaker.failure_threshold):
            breaker.record_failure()

    _in_other_processes(worker_sees_every_call_fail)

    health = {row.name: row for row in platform_health()}
    assert health[platform.name].breaker_state == OPEN
    assert health[platform.name].breaker_opened_at is not None
    with pytest.raises(CircuitOpenError):
        CircuitBreaker(key, platform.breaker, store=DatabaseStore()).before_call()


def test_it_counts_failures_from_every_process_towards_one_breaker():
    policy = BreakerPolicy(failure_threshold=4, cooldown_seconds=60)

    # One after another: SQLite's in-memory test database refuses a second
    # writer at once instead of waiting (the concurrent tests need PostgreSQL).
    for _ in range(4):
        _in_other_processes(
            lambda: CircuitBreaker("acme", policy, store=DatabaseStore()).record_failure())

    assert CircuitBreaker("acme", policy, store=DatabaseStore()).snapshot()["state"] == OPEN


def test_it_shares_the_rate_limit_windows_between_processes():
    limits = (RateLimit(limit=3, seconds=60),)

    for _ in range(2):
        assert _in_other_processes(
            lambda: RateLimiter("acme", limits, store=DatabaseStore()).try_acquire()) == [0]

    here = RateLimiter("acme", limits, store=DatabaseStore())
    assert here.try_acquire() == 0
    assert 59 < here.try_acquire() <= 60
    assert 59 < RateLimiter("acme", limits, store=DatabaseStore()).try_acquire() <= 60


@pytest.mark.postgres
def test_it_admits_exactly_the_limit_to_concurrent_processes():
    limits = (RateLimit(limit=10, seconds=60), RateLimit(limit=100, seconds=3600))

    def take_five() -> int:
        limiter = RateLimiter("acme", limits, store=DatabaseStore())
        return sum(1 for _ in range(5) if limiter.try_acquire() == 0)

    admitted = _in_other_processes(take_five, count=6)

    assert sum(admitted) == 10
    # Refused calls were counted in no window, the hour's included.
    assert SharedWindowHit.objects.filter(key="ratelimit:acme:100/3600").count() == 10


@pytest.mark.postgres
def test_it_gives_a_token_lock_to_one_process_at_a_time():
    taken = _in_other_processes(
        lambda: DatabaseStore().add("token:acme:lock", threading.current_thread().name,
                                    ttl=30), count=8)

    assert sorted(taken) == [False] * 7 + [True]


@pytest.mark.postgres
@responses.activate
def test_it_makes_one_token_request_for_concurrent_processes():
    calls: list[float] = []

    def slow_token_endpoint(request):
        calls.append(time.monotonic())
        time.sleep(0.2)
        return 200, {}, '{"access_token": "token-1", "expires_in": 600}'

    responses.add_callback(responses.POST, "https://acme.test/oauth/token",
                           callback=slow_token_endpoint)

    def headers() -> str:
        provider = ClientCredentialsAuth(client_id="hub", client_secret="s3cret",
                                         cache_key="acme", token_url="https://acme.test/oauth/token",
                                         store=DatabaseStore())
        return provider.headers()["Authorization"]

    assert _in_other_processes(headers, count=6) == ["Bearer token-1"] * 6
    assert len(calls) == 1


@pytest.mark.postgres
def test_it_keeps_its_state_when_the_callers_transaction_rolls_back():
    policy = BreakerPolicy(failure_threshold=1, cooldown_seconds=60)
    store = DatabaseStore()

    with pytest.raises(RuntimeError), transaction.atomic():
        CircuitBreaker("acme", policy, store=store).record_failure()
        raise RuntimeError("the caller's work failed")

    assert CircuitBreaker("acme", policy, store=store).snapshot()["state"] == OPEN


@pytest.mark.postgres
def test_it_holds_no_lock_for_the_rest_of_the_callers_transaction():
    window = [("ratelimit:acme:5/60", 5, 60.0)]
    with transaction.atomic():
        assert DatabaseStore().sliding_window_acquire(window) == 0
        # The caller is still in its transaction (an OAuth refresh under a row
        # lock): another process is not kept waiting for it.
        started = time.monotonic()
        assert _in_other_processes(
            lambda: DatabaseStore().sliding_window_acquire(window)) == [0]
        assert time.monotonic() - started < 1


def test_it_purges_expired_rows_and_keeps_the_others(clock):
    store = DatabaseStore(clock=clock)
    store.set("token:acme", "x", ttl=10)
    store.set("forever", "x")
    store.sliding_window_acquire([("ratelimit:acme:1/10", 1, 10.0)])
    store.sliding_window_acquire([("ratelimit:acme:1/100", 1, 100.0)])

    clock.advance(11)
    deleted = shared_state_purge(store=store, batch=1)

    assert deleted == {"shared_state": 2, "window_hits": 1}
    assert set(SharedState.objects.values_list("key", flat=True)) == {
        "forever", "ratelimit:acme:1/100"}
    assert SharedWindowHit.objects.get().key == "ratelimit:acme:1/100"


def test_it_purges_other_keys_expired_rows_as_it_writes_now_and_then(clock):
    store = DatabaseStore(clock=clock)
    store.add("token:gone:lock", "owner", ttl=5)
    clock.advance(6)
    store.set("token:kept", "x")
    assert SharedState.objects.filter(key="token:gone:lock").exists()  # not due yet

    store._next_purge = 0
    store.set("token:kept", "y")

    assert list(SharedState.objects.values_list("key", flat=True)) == ["token:kept"]


def test_it_forgets_everything_when_cleared():
    store = DatabaseStore()
    store.hash_set("breaker:acme", {"state": "open"})
    store.set("token:acme", "x", ttl=60)
    store.sliding_window_acquire([("ratelimit:acme:1/60", 1, 60.0)])

    store.clear()

    assert store.hash_get("breaker:acme") == {}
    assert store.get("token:acme") is None
    assert store.sliding_window_acquire([("ratelimit:acme:1/60", 1, 60.0)]) == 0
