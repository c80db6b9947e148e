"""A simulator's background thread: what it sends on its own (webhooks,
push notifications, delayed processing) happens here, not in a request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class BackgroundWorker:
    """Calls `step()` every `tick` seconds on a daemon thread, from the first
    `start()` until `close()`. A step that fails is logged and the next one
    runs: one bad delivery must not stop a simulator's others."""

    def __init__(self, step: Callable[[], object], *, name: str, tick: float = 0.02) -> None:
        self.step, self.name, self.tick = step, name, tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def start(self) -> None:
        with self._guard:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._guard:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.step()
            except Exception:
                logger.exception("Simulator worker %s: a step failed", self.name)
