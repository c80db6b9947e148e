"""The simulator's server-side rate limit: sliding-window logs per client.

The contract states "100 requests per minute" and "5,000 requests per day"
per client. A sliding log (every accepted request is remembered for one
window) is the strictest reading: no interval of `seconds` ever holds more
than `limit` accepted requests, so a client that stays under the limit by
its own sliding log never gets a 429 here.

Requests answered 429 are not logged: otherwise a client hammering a full
window would keep it full for ever, and `Retry-After` would be a lie.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float


@dataclass(frozen=True)
class RateDecision:
    """The outcome for one request, as reported in the X-RateLimit-* headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # when the oldest logged request leaves the window
    retry_after: float  # seconds until a slot frees up (0 when allowed)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            # Rounded up: a client waiting until this second never arrives early.
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }

    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


class SlidingWindowLimiter:
    def __init__(self, windows: list[Window]) -> None:
        self.windows = windows
        # client -> one deque of accepted-request times per window
        self._logs: dict[str, list[deque[float]]] = defaultdict(
            lambda: [deque() for _ in self.windows]
        )

    def acquire(self, client: str, now: float) -> RateDecision:
        """Log a request for `client` if every window has room."""
        logs = self._pruned(client, now)
        full = [i for i, log in enumerate(logs) if len(log) >= self.windows[i].limit]
        if full:
            # The window that frees up last is the one the client must wait for.
            i = max(full, key=lambda index: self._frees_at(index, logs[index], now))
            frees_at = self._frees_at(i, logs[i], now)
            return RateDecision(False, self.windows[i].limit, 0, frees_at, frees_at - now)
        for log in logs:
            log.append(now)
        return self._report(logs, now)

    def peek(self, client: str, now: float) -> RateDecision:
        """The current state for `client`, without logging a request."""
        return self._report(self._pruned(client, now), now)

    def clear(self) -> None:
        self._logs.clear()

    def _pruned(self, client: str, now: float) -> list[deque[float]]:
        logs = self._logs[client]
        for window, log in zip(self.windows, logs, strict=True):
            while log and log[0] <= now - window.seconds:
                log.popleft()
        return logs

    def _frees_at(self, index: int, log: deque[float], now: float) -> float:
        return log[0] + self.windows[index].seconds if log else now

    def _report(self, logs: list[deque[float]], now: float) -> RateDecision:
        # Report the binding window: the one with the fewest requests left
        # (the per-minute one on a tie, as it is listed first).
        i = min(range(len(logs)), key=lambda index: self.windows[index].limit - len(logs[index]))
        remaining = self.windows[i].limit - len(logs[i])
        return RateDecision(True, self.windows[i].limit, remaining,
                            self._frees_at(i, logs[i], now), 0.0)
