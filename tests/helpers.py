"""What tests of every domain do the same way: wait for work done in other
threads, run code in a thread of its own, keep a platform client from sleeping."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from django.db import connections

from apps.core.connections import client_cache_clear
from apps.core.http import PlatformClient


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, *,
             what: str = "the condition") -> Any:
    """Poll `predicate` until it gives something true (a simulator or a live
    server works in its own threads); that value."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def sleeps_recorded(monkeypatch, client_module: ModuleType) -> list[float]:
    """The platform client built in `client_module` records its back-off
    sleeps in the list returned instead of sleeping them; clients already
    built are dropped so the next call builds one that does."""
    recorded: list[float] = []
    monkeypatch.setattr(client_module, "PlatformClient",
                        functools.partial(PlatformClient, sleep=recorded.append))
    client_cache_clear()
    return recorded


def in_thread(target: Callable[[], Any], results: list, errors: list) -> threading.Thread:
    """A thread running `target` on its own database connection, its result or
    its exception appended for the test's thread to read."""
    def run() -> None:
        try:
            results.append(target())
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def a_backend_waits_on_a_lock() -> bool:
    """True once another session of this PostgreSQL database waits for a lock."""
    with connections["default"].cursor() as cursor:
        for _ in range(500):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                           "'Lock' AND datname = current_database()")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


class SimulatorsServed:
    """The simulators a test starts, each on a free port, the hub's settings
    pointed at the last one started; all stopped (their workers closed) at the
    end. `paths`: setting -> the path below the simulator's URL (None: empty,
    for an endpoint the platform does not have)."""

    def __init__(self, settings, *, paths: dict[str, str | None]) -> None:
        self.settings, self.paths = settings, paths
        self.running: list = []

    def start(self, simulator, **settings_values: Any):
        from apps.core.simulator import serve

        server = serve(simulator)
        self.running.append(server)
        for name, path in self.paths.items():
            setattr(self.settings, name, "" if path is None else server.url + path)
        for name, value in settings_values.items():
            setattr(self.settings, name, value)
        # A client built for an earlier simulator must not be reused.
        client_cache_clear()
        return simulator

    def stop(self) -> None:
        client_cache_clear()
        for server in self.running:
            close = getattr(server.simulator, "close", None)
            if close is not None:
                close()
            server.stop()
