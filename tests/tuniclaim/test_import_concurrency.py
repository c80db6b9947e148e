"""Two triggers at the same moment (the hourly beat and a manager's click)
make one import run: PostgreSQL's partial unique index decides.

SQLite's in-memory test database refuses a second writer instead of making
it wait, so this runs on PostgreSQL only (marker `postgres`).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from apps.core.models import SyncRun
from apps.tuniclaim import tasks
from apps.tuniclaim.client import tuniclaim_connection
from apps.tuniclaim.imports import IMPORT_KIND, import_trigger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_triggers_make_one_run_and_send_one_task(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.run_import, "delay", sent.append)
    tuniclaim_connection()
    triggers = 4
    barrier = threading.Barrier(triggers)
    results: list[tuple[SyncRun, bool]] = []
    errors: list[BaseException] = []

    def trigger(full: bool) -> None:
        try:
            barrier.wait(5)
            results.append(import_trigger(full=full))
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=trigger, args=(n % 2 == 0,)) for n in range(triggers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert errors == []
    assert [started for _, started in results].count(True) == 1
    assert len({run.pk for run, _ in results}) == 1
    assert SyncRun.objects.filter(kind=IMPORT_KIND).count() == 1
    assert sent == [results[0][0].pk]
