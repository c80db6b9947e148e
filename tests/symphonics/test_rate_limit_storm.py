"""A 429 storm is honoured by two worker processes sharing the quota through Redis.

The simulator runs a scaled quota (10 requests per second instead of 100 per
minute) and, on top of it, answers every third request 429 with
`Retry-After: 1` whatever the quota says. Two spawned processes, each with
its own Symphonics client, validate users as fast as they are allowed to.
The simulator's request log then shows that no second ever held more than
the quota, that the real quota never refused a request, and that every
refused request was sent again only after its Retry-After.
"""

from __future__ import annotations

import multiprocessing
from bisect import bisect_left

import pytest

from apps.core.audit import LogContext
from apps.core.simulator import serve
from apps.symphonics.client import symphonics_client
from apps.symphonics.simulator import build
from tests.symphonics.workers import validate_users

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

LIMIT = 10
WINDOW = 1.0
EVERY = 3  # every third request is answered 429
RETRY_AFTER = 1
WORKERS = 2
CALLS = 12


def test_it_honours_a_429_storm_without_exceeding_the_quota(settings):
    sim = build(hub_webhook_url=None, per_minute_limit=LIMIT, window_seconds=WINDOW)
    server = serve(sim)
    # The hub's quota scaled down like the simulator's, for the test and the workers.
    config = {"SYMPHONICS_API_URL": server.url, "SYMPHONICS_RATE_LIMIT_PER_MINUTE": LIMIT,
              "SYMPHONICS_RATE_WINDOW_SECONDS": WINDOW,
              "SYMPHONICS_CLIENT_ID": settings.SYMPHONICS_CLIENT_ID,
              "SYMPHONICS_CLIENT_SECRET": settings.SYMPHONICS_CLIENT_SECRET}
    for name, value in config.items():
        setattr(settings, name, value)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=validate_users, args=(config, i, CALLS, start, results))
               for i in range(WORKERS)]
    try:
        # The token is fetched once, before the storm, and shared through Redis.
        symphonics_client().validate_user("test.user@example.com",
                                          log=LogContext(action="warm-up"))
        for worker in workers:
            worker.start()
        storm_from = sim.request_count
        sim.faults.update({"rate_limit_every": EVERY, "retry_after_seconds": RETRY_AFTER})
        start.set()
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    finally:
        server.stop()

    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert sorted(len(answers) for _, answers, _ in outcomes) == [CALLS] * WORKERS
    assert sim.token_requests == 1

    storm = [(number, at, path)
             for number, (at, _, path) in enumerate(sim.requests, start=1)
             if number > storm_from]
    refused = {number for number, _, _ in storm if number % EVERY == 0}
    assert len(storm) == WORKERS * CALLS + len(refused)
    assert sum(count for _, _, count in outcomes) == len(refused)
    # The real quota never refused anything: every 429 was one of the storm's.
    assert sim.rate_limited_count == len(refused)

    # No window of one second ever held more than the quota.
    times = sorted(at for _, at, _ in storm)
    busiest = max(bisect_left(times, t + WINDOW) - i for i, t in enumerate(times))
    assert busiest <= LIMIT
    # And the quota was really contended for: the storm took more than two windows.
    assert times[-1] - times[0] > 2 * WINDOW

    # Each refused request was sent again only after its Retry-After.
    for number, at, path in storm:
        if number in refused:
            retried_at = next(t for n, t, p in storm if p == path and n > number)
            assert retried_at - at >= RETRY_AFTER - 0.01
