"""Two triggers at the same moment (the hourly beat and a manager's click) make one run.

Each trigger runs in its own thread with its own database connection; the
database's partial unique index decides, not a check before the insert.
"""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from apps.core.models import Connection, SyncRun
from apps.core.sync import sync_run_start
from tests.helpers import a_backend_waits_on_a_lock, in_thread

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_it_makes_one_run_when_the_second_insert_meets_an_uncommitted_first():
    """The first trigger's row is not committed yet when the second inserts:
    the second waits on the unique index, then gets the first's run."""
    connection = Connection.objects.create(platform="acme", name="Acme Lyon")
    first_inserted = threading.Event()
    release_first = threading.Event()
    results: list[tuple[SyncRun, bool]] = []
    errors: list[BaseException] = []

    def first() -> tuple[SyncRun, bool]:
        with transaction.atomic():
            outcome = sync_run_start(kind="acme.import", connection=connection)
            first_inserted.set()
            assert release_first.wait(5)
        return outcome

    def second() -> tuple[SyncRun, bool]:
        return sync_run_start(kind="acme.import", connection=connection)

    threads = [in_thread(first, results, errors)]
    threads[0].start()
    assert first_inserted.wait(5)
    threads.append(in_thread(second, results, errors))
    threads[1].start()
    assert a_backend_waits_on_a_lock()
    release_first.set()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert sorted(started for _, started in results) == [False, True]
    assert len({run.pk for run, _ in results}) == 1
    assert SyncRun.objects.filter(kind="acme.import").count() == 1


def test_it_makes_one_run_out_of_many_simultaneous_triggers():
    connection = Connection.objects.create(platform="acme", name="Acme Lyon")
    triggers = 4
    barrier = threading.Barrier(triggers)
    results: list[tuple[SyncRun, bool]] = []
    errors: list[BaseException] = []

    def trigger() -> tuple[SyncRun, bool]:
        barrier.wait(5)
        return sync_run_start(kind="acme.import", connection=connection)

    threads = [in_thread(trigger, results, errors) for _ in range(triggers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert [started for _, started in results].count(True) == 1
    assert len({run.pk for run, _ in results}) == 1
    assert SyncRun.objects.filter(kind="acme.import").count() == 1
