"""100 requests a minute per restaurant, answered 429 beyond it, with no hint of when.

The help centre's rule is "100 calls/min" (../shared/reference/restosync.md
0.3); the simulator counts per restaurant uid, as the hub's connector must.
Formitable sends neither `Retry-After` nor rate headers (the reference's
simulator requirements: "429 with no Retry-After header"), so the client has
to back off on its own. A sliding log: no `window_seconds` interval ever
holds more than `limit` accepted requests; refused requests are not logged,
or a client hammering a full window would keep it full for ever.
"""

from __future__ import annotations

from collections import defaultdict, deque


class SlidingLog:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._logs: dict[str, deque[float]] = defaultdict(deque)

    def acquire(self, key: str, now: float) -> bool:
        log = self._logs[key]
        while log and log[0] <= now - self.window_seconds:
            log.popleft()
        if len(log) >= self.limit:
            return False
        log.append(now)
        return True

    def clear(self) -> None:
        self._logs.clear()
