"""A kind's own retry schedule: the delays exactly as declared, then dead."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core.http import OutcomeUnknownError, TransientError
from apps.core.models import OutboundOperation
from apps.core.operations import (
    OutboxRetryPolicy,
    RetrySchedule,
    operation_run,
    register_retry_policy,
)
from tests.core.outbox_handlers import SCHEDULE
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
State = OutboundOperation.State


def _run_until_it_stops(operation: OutboundOperation, traveller) -> list[timedelta]:
    """Run at each due time; the waits between a failure and the next run."""
    waits = []
    while True:
        operation = operation_run(operation.pk)
        if operation.state == State.DEAD:
            return waits
        waits.append(operation.next_attempt_at - datetime.now(UTC))
        traveller.move_to(operation.next_attempt_at)


def test_it_retries_after_each_declared_delay_then_gives_up(outbox):
    operation = OutboundOperationFactory(kind="test.scheduled", platform="acme",
                                         next_attempt_at=T0)
    outbox.script[operation.idempotency_key] = [TransientError("503", platform="acme")]

    with time_machine.travel(T0, tick=False) as traveller:
        waits = _run_until_it_stops(operation, traveller)

    assert waits == [timedelta(seconds=s) for s in (60, 300, 1800, 7200, 28800)]
    operation.refresh_from_db()
    assert operation.state == State.DEAD
    assert operation.failures == 6
    assert len(outbox.runs) == 6
    assert operation.next_attempt_at is None
    assert "gave up after 6 failures" in operation.last_error


def test_it_follows_the_schedule_for_unknown_outcomes_too(outbox):
    operation = OutboundOperationFactory(kind="test.scheduled", next_attempt_at=T0)
    outbox.script[operation.idempotency_key] = [OutcomeUnknownError("timeout", platform="acme")]

    with time_machine.travel(T0, tick=False) as traveller:
        waits = _run_until_it_stops(operation, traveller)

    assert waits == [timedelta(seconds=s) for s in SCHEDULE.delays]
    # Every run after the first checked the platform before resending.
    assert [reconcile for _, reconcile in outbox.runs] == [False] + [True] * 5


def test_it_prefers_the_kind_schedule_to_the_platform_policy(outbox):
    # A platform policy that would give up after the first failure.
    register_retry_policy("acme", OutboxRetryPolicy(max_failures=1))
    try:
        scheduled = OutboundOperationFactory(kind="test.scheduled", next_attempt_at=T0)
        plain = OutboundOperationFactory(kind="test.scripted", next_attempt_at=T0)
        for operation in (scheduled, plain):
            outbox.script[operation.idempotency_key] = [TransientError("503", platform="acme")]
        with time_machine.travel(T0, tick=False):
            scheduled = operation_run(scheduled.pk)
            plain = operation_run(plain.pk)
    finally:
        register_retry_policy("acme", OutboxRetryPolicy())

    assert scheduled.state == State.FAILED
    assert scheduled.next_attempt_at == T0 + timedelta(seconds=60)
    assert plain.state == State.DEAD


def test_it_waits_for_retry_after_when_it_is_longer_than_the_delay(outbox):
    operation = OutboundOperationFactory(kind="test.scheduled", next_attempt_at=T0)
    error = TransientError("429", platform="acme")
    error.retry_after = 600
    outbox.script[operation.idempotency_key] = [error]

    with time_machine.travel(T0, tick=False):
        operation = operation_run(operation.pk)

    assert operation.next_attempt_at == T0 + timedelta(seconds=600)


def test_it_only_lengthens_a_delay_by_its_jitter():
    schedule = RetrySchedule(delays=(60, 300), jitter=0.1)
    rng = random.Random(7)

    delays = [schedule.delay(failures, rng) for failures in (1, 2) for _ in range(200)]

    assert all(60 <= d <= 66 for d in delays[:200])
    assert all(300 <= d <= 330 for d in delays[200:])
    assert len(set(delays)) > 2
    assert schedule.max_failures == 3


@pytest.mark.parametrize("delays", [(), (60, -1)])
def test_it_refuses_a_schedule_without_delays_or_with_a_negative_one(delays):
    with pytest.raises(ValueError, match="delays"):
        RetrySchedule(delays=delays)
