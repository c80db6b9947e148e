"""Client-side rate limits per platform, shared by every worker process.

A sliding-window log is exact: at most `limit` calls start in any interval
of `seconds`, which is what a platform's "100 requests per minute" counts.
(A token bucket of the same size would admit up to twice the quota in some
60-second intervals.) `margin_seconds` widens each window a little so that
network latency cannot push two calls into the platform's window that we
counted in two of ours.

A limit is counted per connection (each account has its own quota) unless
it is `per_application`: some platforms count every account of one
registered application together, and then all our connections of that
platform share one window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from apps.core.store import SharedStore, shared_store


@dataclass(frozen=True)
class RateLimit:
    limit: int
    seconds: float
    margin_seconds: float = 0.0
    # True when the platform counts all accounts of our application together.
    per_application: bool = False

    def __str__(self) -> str:
        scope = " per application" if self.per_application else ""
        return f"{self.limit}/{self.seconds:g}s{scope}"


class RateLimitExceeded(Exception):
    """Waiting for a slot would take longer than the caller accepts."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"rate limit reached, next slot in {wait_seconds:.1f}s")
        self.wait_seconds = wait_seconds


class RateLimiter:
    """`name` keys the per-connection windows, `application` the per-application ones."""

    def __init__(
        self,
        name: str,
        limits: tuple[RateLimit, ...],
        *,
        application: str | None = None,
        store: SharedStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.application = application or name
        self.limits = limits
        self.store = store
        self.sleep = sleep

    def _windows(self) -> list[tuple[str, int, float]]:
        return [
            (f"ratelimit:{self.application if limit.per_application else self.name}:"
             f"{limit.limit}/{limit.seconds:g}", limit.limit,
             limit.seconds + limit.margin_seconds)
            for limit in self.limits
        ]

    def try_acquire(self) -> float:
        """Take a slot now (returns 0) or return the seconds until one frees up."""
        if not self.limits:
            return 0.0
        return (self.store or shared_store()).sliding_window_acquire(self._windows())

    def acquire(self, *, max_wait: float) -> None:
        """Block until a slot is ours; give up if the wait would exceed `max_wait`."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return
            if waited + wait > max_wait:
                raise RateLimitExceeded(wait)
            self.sleep(wait)
            waited += wait
