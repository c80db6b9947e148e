"""A sync run: one at a time per kind and connection, counted, then closed with a status."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core import sync
from apps.core.bulk import UpsertResult
from apps.core.models import Connection, SyncRun
from apps.core.sync import (
    ERROR_SAMPLES_MAX,
    SyncRunRecorder,
    sync_run_count,
    sync_run_finish,
    sync_run_progress,
    sync_run_start,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection():
    return Connection.objects.create(platform="acme", name="Acme Lyon")


def test_it_gives_a_second_trigger_the_running_run(connection):
    first, started = sync_run_start(kind="acme.import", connection=connection)
    again, started_again = sync_run_start(kind="acme.import", connection=connection,
                                          trigger=SyncRun.Trigger.MANUAL, user=UserFactory())

    assert started is True
    assert started_again is False
    assert again.pk == first.pk
    assert again.trigger == SyncRun.Trigger.AUTOMATIC
    assert SyncRun.objects.count() == 1


def test_it_runs_other_kinds_and_connections_side_by_side(connection):
    other = Connection.objects.create(platform="acme", name="Acme Nice")

    runs = [sync_run_start(kind=kind, connection=conn)
            for kind, conn in [("acme.import", connection), ("acme.export", connection),
                               ("acme.import", other)]]

    assert [started for _, started in runs] == [True, True, True]


def test_it_starts_a_new_run_once_the_last_one_finished(connection):
    first, _ = sync_run_start(kind="acme.import", connection=connection)
    sync_run_finish(run=first)

    second, started = sync_run_start(kind="acme.import", connection=connection)

    assert started is True
    assert second.pk != first.pk


def test_it_records_who_triggered_a_manual_run(connection):
    manager = UserFactory()

    run, _ = sync_run_start(kind="acme.import", connection=connection,
                            trigger=SyncRun.Trigger.MANUAL, user=manager, total=40)

    run.refresh_from_db()
    assert (run.trigger, run.triggered_by, run.progress_total) == (
        SyncRun.Trigger.MANUAL, manager, 40)


def test_it_closes_as_error_a_run_left_running_past_the_timeout(connection):
    with time_machine.travel(timezone.now() - sync.SYNC_RUN_TIMEOUT - timedelta(minutes=1)):
        dead, _ = sync_run_start(kind="acme.import", connection=connection)

    fresh, started = sync_run_start(kind="acme.import", connection=connection)

    dead.refresh_from_db()
    assert started is True
    assert fresh.pk != dead.pk
    assert dead.status == SyncRun.Status.ERROR
    assert dead.finished_at is not None
    minutes = int(sync.SYNC_RUN_TIMEOUT.total_seconds() // 60)
    assert f"{minutes} minutes" in dead.error_samples[-1]["message"]


def test_it_keeps_a_run_within_the_timeout_running(connection):
    with time_machine.travel(timezone.now() - sync.SYNC_RUN_TIMEOUT + timedelta(minutes=5)):
        live, _ = sync_run_start(kind="acme.import", connection=connection)

    again, started = sync_run_start(kind="acme.import", connection=connection)

    assert started is False
    assert again.pk == live.pk


def test_it_leaves_alone_a_late_finish_of_a_run_closed_as_dead(connection):
    with time_machine.travel(timezone.now() - sync.SYNC_RUN_TIMEOUT - timedelta(minutes=1)):
        dead, _ = sync_run_start(kind="acme.import", connection=connection)
    sync_run_start(kind="acme.import", connection=connection)

    finished = sync_run_finish(run=dead)

    assert finished.status == SyncRun.Status.ERROR


@pytest.mark.parametrize(("counts", "error", "status"), [
    ({"created": 3, "updated": 2, "unchanged": 5}, None, SyncRun.Status.SUCCESS),
    ({"created": 3, "invalid": 1}, None, SyncRun.Status.PARTIAL),
    ({"updated": 1, "errors": 2}, None, SyncRun.Status.PARTIAL),
    ({"created": 3}, "the platform answered 503", SyncRun.Status.ERROR),
])
def test_it_finishes_with_the_status_its_counts_call_for(connection, counts, error, status):
    run, _ = sync_run_start(kind="acme.import", connection=connection)
    sync_run_count(run=run, **counts)

    finished = sync_run_finish(run=run, error=error)

    assert finished.status == status
    assert finished.finished_at is not None
    for name, value in counts.items():
        assert getattr(finished, name) == value
    if error:
        assert finished.error_samples[-1]["message"] == error


def test_it_adds_the_counts_of_several_calls(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection)

    sync_run_count(run=run, created=2, advance=2)
    sync_run_count(run=run, created=1, unchanged=4, advance=5)

    run.refresh_from_db()
    assert (run.created, run.unchanged, run.progress_done) == (3, 4, 7)


def test_it_sets_and_moves_the_progress(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection)

    sync_run_progress(run=run, done=10, total=200)
    sync_run_progress(run=run, advance=15)

    run.refresh_from_db()
    assert (run.progress_done, run.progress_total) == (25, 200)


def test_it_keeps_only_the_first_error_samples(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection)

    for batch in range(3):
        sync_run_count(run=run, errors=ERROR_SAMPLES_MAX, samples=[
            {"record": f"BS-{batch}-{i}", "message": "amount is not a number"}
            for i in range(ERROR_SAMPLES_MAX)])

    run.refresh_from_db()
    assert run.errors == 3 * ERROR_SAMPLES_MAX
    assert len(run.error_samples) == ERROR_SAMPLES_MAX
    assert run.error_samples[0] == {"record": "BS-0-0", "message": "amount is not a number"}


def test_it_counts_a_whole_run_with_a_recorder(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection, total=60)

    with SyncRunRecorder(run, flush_every=7) as recorder:
        recorder.add(UpsertResult(created=30, updated=5, unchanged=20))
        for i in range(3):
            recorder.invalid(record=f"BS-{i}", message="no policy number")
        recorder.error(record="BS-9", message="refused by the database")
        recorder.count("deleted", 2)
        recorder.advance(60)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.PARTIAL
    assert (run.created, run.updated, run.unchanged, run.invalid, run.errors, run.deleted) == (
        30, 5, 20, 3, 1, 2)
    assert run.progress_done == 60
    assert [s["record"] for s in run.error_samples] == ["BS-0", "BS-1", "BS-2", "BS-9"]


def test_it_writes_the_counts_while_the_run_goes_on(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection, total=10)
    recorder = SyncRunRecorder(run, flush_every=4)

    recorder.count("created", 5)

    run.refresh_from_db()
    assert run.created == 5
    assert run.status == SyncRun.Status.RUNNING


def test_it_caps_the_samples_a_recorder_writes(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection)

    with SyncRunRecorder(run, flush_every=10) as recorder:
        for i in range(3 * ERROR_SAMPLES_MAX):
            recorder.invalid(record=f"BS-{i}", message="bad date")

    run.refresh_from_db()
    assert run.invalid == 3 * ERROR_SAMPLES_MAX
    assert len(run.error_samples) == ERROR_SAMPLES_MAX


def test_it_finishes_as_error_when_the_work_raises(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection)

    with pytest.raises(ConnectionError), SyncRunRecorder(run) as recorder:
        recorder.count("created", 2)
        raise ConnectionError("platform unreachable")

    run.refresh_from_db()
    assert run.status == SyncRun.Status.ERROR
    assert run.created == 2
    assert run.error_samples[-1]["message"] == "ConnectionError: platform unreachable"


def test_it_refuses_an_unknown_counter(connection):
    run, _ = sync_run_start(kind="acme.import", connection=connection)

    with pytest.raises(ValueError, match="unknown counter"):
        SyncRunRecorder(run).count("skipped")
