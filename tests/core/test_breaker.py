"""The circuit breaker opens, half-opens and closes, its state shared by processes.

Two CircuitBreaker instances on one store stand for two worker processes.
Every test runs on the in-process store and on real Redis.
"""

from __future__ import annotations

import time

import pytest
import responses
from django.conf import settings

from apps.core.audit import LogContext
from apps.core.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerPolicy,
    CircuitBreaker,
    CircuitOpenError,
)
from apps.core.http import Platform, PlatformClient, RetryPolicy, TransientError
from apps.core.models import SyncLog
from apps.core.store import RedisStore

POLICY = BreakerPolicy(failure_threshold=3, cooldown_seconds=60)


@pytest.fixture
def breakers(clocked_store):
    return (CircuitBreaker("acme", POLICY, store=clocked_store),
            CircuitBreaker("acme", POLICY, store=clocked_store))


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(POLICY.failure_threshold):
        breaker.record_failure()


def test_it_opens_after_the_threshold_of_consecutive_failures(breakers):
    first, second = breakers
    first.record_failure()
    first.record_failure()
    first.before_call()
    assert first.snapshot()["state"] == CLOSED

    first.record_failure()

    for breaker in breakers:
        with pytest.raises(CircuitOpenError) as excinfo:
            breaker.before_call()
        assert excinfo.value.retry_in == pytest.approx(60)
    assert second.snapshot()["state"] == OPEN


def test_it_counts_failures_from_every_process(breakers):
    first, second = breakers
    first.record_failure()
    second.record_failure()
    first.record_failure()

    with pytest.raises(CircuitOpenError):
        second.before_call()


def test_it_forgets_failures_after_a_success(breakers):
    first, second = breakers
    first.record_failure()
    first.record_failure()
    second.record_success()
    first.record_failure()
    first.record_failure()

    first.before_call()
    assert first.snapshot() == {"state": CLOSED, "failures": 2, "opened_at": None}


def test_it_rejects_calls_for_the_whole_cool_down(breakers, clock):
    first, second = breakers
    _open(first)
    clock.advance(59.9)

    with pytest.raises(CircuitOpenError) as excinfo:
        second.before_call()
    assert excinfo.value.retry_in == pytest.approx(0.1)


def test_it_lets_exactly_one_trial_through_after_the_cool_down(breakers, clock):
    first, second = breakers
    _open(first)
    clock.advance(60)

    assert second.snapshot()["state"] == HALF_OPEN
    second.before_call()  # the trial
    with pytest.raises(CircuitOpenError):
        first.before_call()
    with pytest.raises(CircuitOpenError):
        second.before_call()


def test_it_closes_when_the_trial_succeeds(breakers, clock):
    first, second = breakers
    _open(first)
    clock.advance(60)
    second.before_call()

    second.record_success()

    for breaker in breakers:
        breaker.before_call()
        breaker.before_call()
        assert breaker.snapshot()["state"] == CLOSED


def test_it_opens_again_when_the_trial_fails(breakers, clock):
    first, second = breakers
    _open(first)
    clock.advance(60)
    second.before_call()

    second.record_failure()

    assert first.snapshot()["state"] == OPEN
    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        first.before_call()
    clock.advance(1)
    first.before_call()  # a new trial after a new full cool-down


def test_it_allows_a_new_trial_when_the_trial_holder_died(breakers, clock):
    first, second = breakers
    _open(first)
    clock.advance(60)
    first.before_call()  # the trial; its process dies without reporting

    clock.advance(60)
    if isinstance(second.store, RedisStore):
        # The trial lock expires on Redis' own clock, after one cool-down;
        # end it as time would.
        assert 0 < second.store.client.pttl(second.trial_key) <= 60_000
        second.store.delete(second.trial_key)
    second.before_call()


def test_it_keeps_platforms_apart(clocked_store):
    acme = CircuitBreaker("acme", POLICY, store=clocked_store)
    other = CircuitBreaker("other", POLICY, store=clocked_store)
    _open(acme)

    other.before_call()
    with pytest.raises(CircuitOpenError):
        acme.before_call()


@pytest.mark.redis
def test_it_half_opens_on_redis_time_after_a_short_cool_down():
    policy = BreakerPolicy(failure_threshold=1, cooldown_seconds=0.2)
    first = CircuitBreaker("acme", policy, store=RedisStore(settings.REDIS_URL))
    second = CircuitBreaker("acme", policy, store=RedisStore(settings.REDIS_URL))
    first.record_failure()
    with pytest.raises(CircuitOpenError):
        second.before_call()

    time.sleep(0.25)

    second.before_call()
    with pytest.raises(CircuitOpenError):
        first.before_call()
    second.record_success()
    first.before_call()


@pytest.mark.django_db
@responses.activate
def test_it_stops_the_client_from_calling_an_unwell_platform():
    platform = Platform(name="acme", base_url="https://acme.test/api",
                        breaker=BreakerPolicy(failure_threshold=2, cooldown_seconds=60),
                        retry=RetryPolicy(max_attempts=2))
    client = PlatformClient(platform, sleep=lambda seconds: None)
    responses.get("https://acme.test/api/things", status=503)
    with pytest.raises(TransientError):
        client.get("/things", log=LogContext(action="thing.fetch"))

    with pytest.raises(TransientError) as excinfo:
        client.get("/things", log=LogContext(action="thing.fetch"))

    assert len(responses.calls) == 2
    assert excinfo.value.retry_after == pytest.approx(60, abs=1)
    assert SyncLog.objects.filter(status=SyncLog.Status.SKIPPED).count() == 1


@pytest.mark.django_db
@responses.activate
def test_it_is_not_tripped_by_client_errors_or_throttling():
    platform = Platform(name="acme", base_url="https://acme.test/api",
                        breaker=BreakerPolicy(failure_threshold=1),
                        retry=RetryPolicy(max_attempts=1))
    client = PlatformClient(platform, sleep=lambda seconds: None)
    responses.get("https://acme.test/api/things", status=429)
    responses.get("https://acme.test/api/things", status=404)
    for _ in range(2):
        with pytest.raises(Exception, match="acme"):
            client.get("/things", log=LogContext(action="thing.fetch"))

    assert client.breaker.snapshot()["state"] == CLOSED
