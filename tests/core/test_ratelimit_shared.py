"""Several processes share one quota through Redis and never exceed it together.

Each process hammers its own RateLimiter (its own Redis connection) on the
same platform. The admission times are the scores the limiter's Lua script
writes into the window's sorted set, taken from the Redis server's clock at
the moment of admission; a poller copies them out before they slide out of
the window, so the check below sees every admission at its exact time.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from bisect import bisect_left

import pytest
from django.conf import settings

from apps.core.ratelimit import RateLimit, RateLimiter
from apps.core.store import RedisStore

pytestmark = pytest.mark.redis

LIMIT = RateLimit(10, 1.0)
PROCESSES = 3
CALLS_PER_PROCESS = 10  # 30 calls for 10 per second: about two seconds of contention


def _hammer(redis_url: str, start, results) -> None:
    limiter = RateLimiter("shared-quota", (LIMIT,), store=RedisStore(redis_url))
    start.wait(timeout=30)
    for _ in range(CALLS_PER_PROCESS):
        limiter.acquire(max_wait=30)
    results.put(CALLS_PER_PROCESS)


def test_it_never_lets_processes_exceed_the_quota_together():
    store = RedisStore(settings.REDIS_URL)
    window_key = RateLimiter("shared-quota", (LIMIT,))._windows()[0][0]
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_hammer, args=(settings.REDIS_URL, start, results))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()

    admissions: dict[str, int] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            admissions.update({member: int(score) for member, score in
                               store.client.zrange(window_key, 0, -1, withscores=True)})
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        time.sleep(0.2)  # let the spawned interpreters reach the start line
        start.set()
        for worker in workers:
            worker.join(timeout=30)
    finally:
        done.set()
        poller.join()
    admissions.update({member: int(score) for member, score in
                       store.client.zrange(window_key, 0, -1, withscores=True)})

    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert sum(results.get(timeout=5) for _ in workers) == PROCESSES * CALLS_PER_PROCESS
    times = sorted(admissions.values())  # milliseconds, Redis clock
    assert len(times) == PROCESSES * CALLS_PER_PROCESS
    window_ms = int(LIMIT.seconds * 1000)
    busiest = max(bisect_left(times, t + window_ms) - i for i, t in enumerate(times))
    assert busiest <= LIMIT.limit
    # The quota was really contended for: it took more than two windows.
    assert times[-1] - times[0] >= 2 * window_ms
