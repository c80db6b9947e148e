"""The clock a simulator reads.

It reads its source (by default `time.time`) at every call, so a test that
moves time with time-machine moves the simulators with it, plus an offset
that `advance()` adds: the `/_sim/advance` control endpoints skip simulated
time forward this way without touching the process' clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable


class SimClock:
    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self.source = source
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Seconds since the epoch, as `time.time()` gives them."""
        return self.source() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        """Skip `seconds` ahead; returns the new time."""
        with self._lock:
            self._offset += seconds
        return self()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0

    def datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self(), tz=dt.UTC)
