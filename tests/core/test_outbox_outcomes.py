"""What each outcome of a handler does to an operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core.http import OutcomeUnknownError, PermanentError, TransientError
from apps.core.models import OutboundOperation
from apps.core.operations import (
    Done,
    OutboxRetryPolicy,
    Reschedule,
    operation_run,
    register_retry_policy,
)
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
State = OutboundOperation.State
# The default schedule: the first retry 15 to 30 seconds after a failure.
FIRST_RETRY = (timedelta(seconds=15), timedelta(seconds=30))


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _operation(outbox, *outcomes, **fields) -> OutboundOperation:
    operation = OutboundOperationFactory(next_attempt_at=T0, **fields)
    outbox.script[operation.idempotency_key] = list(outcomes)
    return operation


def _run_each_time_it_is_due(operation, at_t0, *, times: int) -> OutboundOperation:
    for _ in range(times):
        operation = operation_run(operation.pk)
        if operation.next_attempt_at:
            at_t0.move_to(operation.next_attempt_at)
    return operation


def test_it_records_the_result_when_done(outbox, at_t0):
    operation = _operation(outbox, Done({"remote_id": "R-1"}))

    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED
    assert operation.result == {"remote_id": "R-1"}
    assert operation.completed_at == T0
    assert operation.next_attempt_at is None


def test_it_waits_when_rescheduled(outbox, at_t0):
    operation = _operation(outbox, Reschedule(at=T0 + timedelta(minutes=5), note="polling"))

    operation = operation_run(operation.pk)

    assert operation.state == State.PENDING
    assert operation.next_attempt_at == T0 + timedelta(minutes=5)
    assert operation.last_error == "polling"
    assert operation.failures == 0
    assert operation_run(operation.pk) is None  # not due yet


def test_it_kills_the_operation_on_a_permanent_error(outbox, at_t0):
    operation = _operation(outbox, PermanentError("refused", platform="acme", status_code=422))

    operation = operation_run(operation.pk)

    assert operation.state == State.DEAD
    assert operation.last_status_code == 422
    assert operation.next_attempt_at is None
    at_t0.shift(timedelta(days=1))
    assert operation_run(operation.pk) is None
    assert len(outbox.runs) == 1


def test_it_retries_later_after_a_transient_error(outbox, at_t0):
    operation = _operation(outbox, TransientError("busy", platform="acme", status_code=503),
                           Done())

    operation = operation_run(operation.pk)

    assert operation.state == State.FAILED
    assert operation.failures == 1
    assert operation.last_status_code == 503
    assert T0 + FIRST_RETRY[0] <= operation.next_attempt_at <= T0 + FIRST_RETRY[1]
    assert operation_run(operation.pk) is None  # not before its time
    at_t0.move_to(operation.next_attempt_at)
    assert operation_run(operation.pk).state == State.SUCCEEDED
    assert outbox.runs == [(operation.idempotency_key, False)] * 2


def test_it_waits_at_least_what_the_platform_asked(outbox, at_t0):
    operation = _operation(outbox, TransientError("slow down", platform="acme",
                                                  status_code=429, retry_after=600))

    operation = operation_run(operation.pk)

    assert operation.next_attempt_at >= T0 + timedelta(seconds=600)


def test_it_reconciles_after_an_unknown_outcome(outbox, at_t0):
    operation = _operation(outbox, OutcomeUnknownError("read timeout", platform="acme"), Done())

    operation = operation_run(operation.pk)

    assert operation.state == State.UNKNOWN
    assert operation.needs_reconcile
    assert operation.next_attempt_at > T0
    at_t0.move_to(operation.next_attempt_at)
    operation = operation_run(operation.pk)
    assert outbox.runs == [(operation.idempotency_key, False), (operation.idempotency_key, True)]
    assert operation.state == State.SUCCEEDED
    assert not operation.needs_reconcile


def test_it_keeps_a_crashed_handlers_operation_alive_and_checks_before_resending(
        outbox, at_t0):
    # The crash may have come after the request went out (reading the answer).
    operation = _operation(outbox, RuntimeError("bug"))

    operation = operation_run(operation.pk)

    assert operation.state == State.UNKNOWN
    assert operation.needs_reconcile
    assert "bug" in operation.last_error
    at_t0.move_to(operation.next_attempt_at)
    operation_run(operation.pk)
    assert outbox.runs[-1] == (operation.idempotency_key, True)


def test_it_retires_an_operation_whose_outcome_cannot_be_stored(outbox, at_t0):
    """A result the JSON column refuses once made the row crash at every
    lease expiry, in flight forever; now it is retried with a check, then dead."""
    register_retry_policy("acme", OutboxRetryPolicy(base_delay=10, max_failures=3))
    operation = _operation(outbox, Done({"declared_at": datetime(2025, 6, 2, tzinfo=UTC)}))

    operation = _run_each_time_it_is_due(operation, at_t0, times=3)

    assert operation.state == State.DEAD
    assert operation.failures == 3
    assert "not JSON serializable" in operation.last_error
    assert [reconcile for _, reconcile in outbox.runs] == [False, True, True]


def test_it_gives_up_after_the_maximum_number_of_failures(outbox, at_t0):
    register_retry_policy("flaky", OutboxRetryPolicy(base_delay=10, max_failures=3))
    operation = _operation(outbox, TransientError("busy", platform="flaky"), platform="flaky")

    operation = _run_each_time_it_is_due(operation, at_t0, times=3)

    assert operation.state == State.DEAD
    assert operation.failures == 3
    assert operation.last_error.startswith("gave up after 3 failures")
    assert len(outbox.runs) == 3


def test_it_does_not_save_an_outcome_after_losing_the_lease(outbox, at_t0):
    def slow_call(operation):
        # The call outlived the lease and another worker took the operation over.
        OutboundOperation.objects.filter(pk=operation.pk).update(attempts=operation.attempts + 1)
        return Done({"late": True})

    operation = _operation(outbox, slow_call)

    operation_run(operation.pk)

    operation.refresh_from_db()
    assert operation.state == State.IN_FLIGHT
    assert operation.result == {}
