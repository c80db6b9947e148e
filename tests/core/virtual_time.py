"""Driving a platform client through its slowest case without waiting for it.

The client's sleeps, its backoff jitter and its rate limiter are replaced so
that every wait is as long as the client allows, and only counted.
"""

from __future__ import annotations

import random


class VirtualTime:
    """Seconds slept, added up instead of waited."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def sleep(self, seconds: float) -> None:
        self.elapsed += seconds


class CeilingRandom(random.Random):
    """Every backoff at the top of its range."""

    def uniform(self, a: float, b: float) -> float:
        return b


class SlowLimiter:
    """Grants each slot only at the end of the longest wait the client accepts."""

    def __init__(self, time: VirtualTime) -> None:
        self.time = time

    def acquire(self, *, max_wait: float) -> None:
        self.time.sleep(max_wait)
