"""The sliding-window limiter, in process, with time in the test's hands."""

from __future__ import annotations

import random
from bisect import bisect_left

import pytest

from apps.core.ratelimit import RateLimit, RateLimiter, RateLimitExceeded
from apps.core.store import LocalStore


@pytest.fixture
def store(clock) -> LocalStore:
    return LocalStore(clock=clock)


def test_it_admits_up_to_the_limit_then_says_how_long_to_wait(store, clock):
    limiter = RateLimiter("acme", (RateLimit(3, 10),), store=store)

    admitted = []
    for _ in range(3):
        admitted.append(limiter.try_acquire())
        clock.advance(1)

    assert admitted == [0, 0, 0]
    # The oldest call (t=0) leaves the window at t=10; it is t=3 now.
    assert limiter.try_acquire() == pytest.approx(7)
    clock.advance(7)
    assert limiter.try_acquire() == 0


def test_it_needs_room_in_every_window(store, clock):
    limiter = RateLimiter("acme", (RateLimit(2, 1), RateLimit(3, 60)), store=store)

    assert [limiter.try_acquire(), limiter.try_acquire()] == [0, 0]
    assert limiter.try_acquire() == pytest.approx(1)
    clock.advance(1)
    assert limiter.try_acquire() == 0
    clock.advance(1)
    # The per-second window has room again, the per-minute one does not.
    assert limiter.try_acquire() == pytest.approx(58)


def test_it_does_not_count_refused_calls(store, clock):
    limiter = RateLimiter("acme", (RateLimit(1, 1), RateLimit(2, 60)), store=store)

    assert limiter.try_acquire() == 0
    for _ in range(5):
        assert limiter.try_acquire() > 0
    clock.advance(1)
    # Had the refusals been recorded in the minute window, this would wait.
    assert limiter.try_acquire() == 0


def test_it_blocks_until_a_slot_frees_up(store, clock):
    limiter = RateLimiter("acme", (RateLimit(2, 5),), store=store, sleep=clock.sleep)

    for _ in range(3):
        limiter.acquire(max_wait=10)

    assert clock.sleeps == [pytest.approx(5)]


def test_it_gives_up_when_the_wait_is_too_long(store, clock):
    limiter = RateLimiter("acme", (RateLimit(1, 60),), store=store, sleep=clock.sleep)
    limiter.acquire(max_wait=1)

    with pytest.raises(RateLimitExceeded) as excinfo:
        limiter.acquire(max_wait=30)

    assert excinfo.value.wait_seconds == pytest.approx(60)
    assert clock.sleeps == []


def test_it_never_admits_more_than_the_limit_in_any_window(store, clock):
    limit, seconds = 5, 2.0
    limiter = RateLimiter("acme", (RateLimit(limit, seconds),), store=store)
    rng = random.Random(7)
    admitted: list[float] = []
    for _ in range(2000):
        if limiter.try_acquire() == 0:
            admitted.append(clock())
        clock.advance(rng.choice([0, 0, 0.001, 0.05, 0.3]))

    assert len(admitted) > 100
    for i, started in enumerate(admitted):
        assert bisect_left(admitted, started + seconds) - i <= limit


def test_it_keeps_separate_quotas_per_platform(store):
    acme = RateLimiter("acme", (RateLimit(1, 60),), store=store)
    other = RateLimiter("other", (RateLimit(1, 60),), store=store)

    assert acme.try_acquire() == 0
    assert other.try_acquire() == 0
    assert acme.try_acquire() > 0
