"""The link's health (`import_health`): one test per rule, each built from the
core's own rows (sync runs, outbox operations, the breaker, the connection)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from apps.core.breaker import CircuitBreaker
from apps.core.connections import connection_scope_key
from apps.core.models import Connection, OutboundOperation, SyncRun
from apps.core.sync import SYNC_RUN_TIMEOUT
from apps.tuniclaim import imports, selectors, services
from apps.tuniclaim.client import tuniclaim_connection, tuniclaim_platform
from apps.tuniclaim.models import QuarantinedRecord
from apps.tuniclaim.selectors import GREEN, ORANGE, RED, import_health
from tests.tuniclaim.factories import QuarantinedRecordFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
State = OutboundOperation.State
_keys = itertools.count(1)


def run(status: str, *, finished_ago: timedelta | None = timedelta(minutes=30),
        took: timedelta = timedelta(minutes=2), **counts) -> SyncRun:
    """An import run of the deployment's connection, finished `finished_ago` before NOW."""
    finished = None if finished_ago is None else NOW - finished_ago
    started = (finished or NOW) - took
    return SyncRun.objects.create(kind=imports.IMPORT_KIND, connection=tuniclaim_connection(),
                                  status=status, started_at=started, finished_at=finished,
                                  **counts)


def push(state: str, kind: str = services.PUSH_STATUS) -> OutboundOperation:
    return OutboundOperation.objects.create(platform="tuniclaim", kind=kind, state=state,
                                            idempotency_key=f"test:{next(_keys)}")


def quarantine(*, released: bool = False) -> QuarantinedRecord:
    return QuarantinedRecordFactory(released_at=NOW if released else None)


def breaker() -> CircuitBreaker:
    platform = tuniclaim_platform()
    key = connection_scope_key(Connection(platform=platform.name, is_default=True))
    return CircuitBreaker(key, platform.breaker)


def open_breaker() -> CircuitBreaker:
    circuit = breaker()
    for _ in range(circuit.policy.failure_threshold):
        circuit.record_failure()
    return circuit


def health():
    return import_health(now=NOW)


# -- runs ------------------------------------------------------------------------------------

def test_it_is_green_when_the_last_import_succeeded_within_the_hour_and_nothing_waits():
    run(SyncRun.Status.ERROR, finished_ago=timedelta(hours=3))
    run(SyncRun.Status.SUCCESS, finished_ago=timedelta(minutes=30))

    assert health() == selectors.Health(level=GREEN, reasons=[])


def test_it_is_orange_when_nothing_was_ever_imported():
    result = health()

    assert result.level == ORANGE
    assert result.reasons == ["MY TUNICLAIM has never been imported."]


def test_the_first_import_running_is_still_never_imported():
    run(SyncRun.Status.RUNNING, finished_ago=None)

    assert health().reasons == ["MY TUNICLAIM has never been imported."]


def test_it_is_red_when_the_last_import_failed_even_after_a_recent_success():
    run(SyncRun.Status.SUCCESS, finished_ago=timedelta(minutes=50))
    run(SyncRun.Status.ERROR, finished_ago=timedelta(minutes=5))

    result = health()

    assert result.level == RED
    assert len(result.reasons) == 1
    assert result.reasons[0].startswith("The last import, started ")
    assert result.reasons[0].endswith(", failed.")


def test_it_is_red_when_imports_ran_but_none_ever_completed():
    run(SyncRun.Status.ERROR, finished_ago=timedelta(minutes=5))

    result = health()

    assert result.level == RED
    assert "No import has ever completed." in result.reasons


def test_it_is_orange_when_the_last_import_was_partial():
    run(SyncRun.Status.PARTIAL, finished_ago=timedelta(minutes=10), invalid=3, errors=1)

    result = health()

    assert result.level == ORANGE
    [reason] = result.reasons
    assert reason.endswith("was partial (invalid records: 3, errors: 1).")


def test_it_is_orange_when_the_last_completed_import_is_older_than_the_fresh_window():
    run(SyncRun.Status.SUCCESS, finished_ago=selectors.HEALTH_FRESH + timedelta(minutes=1))

    result = health()

    assert result.level == ORANGE
    [reason] = result.reasons
    assert reason.startswith("The last completed import finished ")
    assert reason.endswith("over 2 hours ago.")


def test_a_partial_run_keeps_the_import_fresh():
    # A record that stays invalid makes every run partial: orange, not red.
    run(SyncRun.Status.PARTIAL, finished_ago=timedelta(minutes=20), invalid=1)

    assert health().level == ORANGE
    assert not any("completed" in reason for reason in health().reasons)


def test_it_is_red_when_no_import_completed_within_the_stale_window():
    run(SyncRun.Status.SUCCESS, finished_ago=selectors.HEALTH_STALE + timedelta(minutes=1))

    result = health()

    assert result.level == RED
    [reason] = result.reasons
    assert reason.startswith("No import has completed for over 6 hours; the last one finished ")


def test_it_is_orange_when_an_import_runs_longer_than_a_run_may_take():
    run(SyncRun.Status.SUCCESS, finished_ago=timedelta(minutes=30))
    SyncRun.objects.create(kind=imports.IMPORT_KIND, connection=tuniclaim_connection(),
                           started_at=NOW - SYNC_RUN_TIMEOUT - timedelta(minutes=1))

    result = health()

    assert result.level == ORANGE
    [reason] = result.reasons
    assert "its worker may have died" in reason


def test_a_run_of_another_kind_says_nothing_about_the_import():
    run(SyncRun.Status.SUCCESS, finished_ago=timedelta(minutes=30))
    SyncRun.objects.create(kind="other.import", connection=tuniclaim_connection(),
                           status=SyncRun.Status.ERROR, started_at=NOW, finished_at=NOW)

    assert health().level == GREEN


def test_times_in_reasons_are_local_with_their_zone(settings):
    settings.TIME_ZONE = "Africa/Tunis"
    run(SyncRun.Status.ERROR, finished_ago=timedelta(minutes=5), took=timedelta(minutes=5))

    [reason, _never] = health().reasons

    # 09:50 UTC is 10:50 in Tunis (CET all year).
    assert "10:50" in reason
    assert "CET" in reason


# -- the link ----------------------------------------------------------------------------------

def test_it_is_red_when_the_breaker_of_the_connection_is_open():
    run(SyncRun.Status.SUCCESS)
    open_breaker()

    result = health()

    assert result.level == RED
    assert result.reasons == [
        "MY TUNICLAIM is not answering: its circuit breaker is open, calls are not sent for now."]


def test_it_is_orange_when_the_breaker_is_half_open():
    run(SyncRun.Status.SUCCESS)
    circuit = open_breaker()
    # Opened a cool-down ago: its next call is the trial.
    circuit.store.hash_set(circuit.key, {
        "state": "open",
        "opened_at": repr(circuit.store.now() - circuit.policy.cooldown_seconds - 1)})

    result = health()

    assert result.level == ORANGE
    assert "half-open" in result.reasons[0]


def test_it_is_red_when_the_connection_is_in_error():
    run(SyncRun.Status.SUCCESS)
    connection = tuniclaim_connection()
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.ERROR, status_reason="The token is refused.")

    result = health()

    assert result.level == RED
    assert result.reasons == [
        "The MY TUNICLAIM connection is in error: The token is refused."]


def test_reading_the_health_creates_no_connection():
    import_health(now=NOW)

    assert not Connection.objects.filter(platform="tuniclaim").exists()


# -- what waits --------------------------------------------------------------------------------

def test_it_is_orange_while_records_are_in_quarantine():
    run(SyncRun.Status.SUCCESS)
    quarantine()
    quarantine()
    quarantine(released=True)

    result = health()

    assert result.level == ORANGE
    assert result.reasons == ["2 records are in quarantine."]


def test_it_is_orange_while_pushes_are_being_retried():
    run(SyncRun.Status.SUCCESS)
    push(State.FAILED)
    push(State.UNKNOWN, kind=services.PUSH_PAYMENT)
    # Not failing: waiting for their first try, running, done.
    push(State.PENDING)
    push(State.IN_FLIGHT)
    push(State.SUCCEEDED)

    result = health()

    assert result.level == ORANGE
    assert result.reasons == ["2 pushes to MY TUNICLAIM failed and are being retried."]


def test_it_is_red_when_a_push_is_dead():
    run(SyncRun.Status.SUCCESS)
    push(State.DEAD, kind=services.PUSH_PAYMENT)

    result = health()

    assert result.level == RED
    assert result.reasons == [
        "1 push to MY TUNICLAIM is dead; its BS's later pushes wait for a manager in the "
        "outbox."]


def test_pushes_of_other_domains_do_not_count():
    run(SyncRun.Status.SUCCESS)
    OutboundOperation.objects.create(platform="symphonics", kind="symphonics.publish",
                                     state=State.DEAD, idempotency_key="other:1")

    assert health().level == GREEN


def test_red_reasons_come_before_orange_ones():
    run(SyncRun.Status.SUCCESS)
    quarantine()
    push(State.DEAD)

    result = health()

    assert result.level == RED
    assert result.reasons[0].startswith("1 push to MY TUNICLAIM is dead")
    assert result.reasons[1] == "1 record is in quarantine."
