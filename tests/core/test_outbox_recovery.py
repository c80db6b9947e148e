"""An operation whose worker died is run again by the sweep, reconciling first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core.models import OutboundOperation
from apps.core.operations import operation_claim
from apps.core.tasks import sweep
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
State = OutboundOperation.State


@pytest.fixture
def abandoned():
    """A worker claimed it at T0 with a 5-minute lease, then died."""
    with time_machine.travel(T0, tick=False):
        return OutboundOperationFactory(
            idempotency_key="acme:shift:1", state=State.IN_FLIGHT, attempts=1,
            next_attempt_at=T0, lease_expires_at=T0 + timedelta(minutes=5))


def test_it_reruns_an_operation_whose_worker_died(outbox, abandoned,
                                                   django_capture_on_commit_callbacks):
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        counts = sweep()

    assert counts["operations"] == 1
    assert outbox.runs == [("acme:shift:1", True)]
    abandoned.refresh_from_db()
    assert abandoned.state == State.SUCCEEDED
    assert abandoned.attempts == 2
    assert abandoned.lease_expires_at is None


def test_it_leaves_an_operation_alone_while_its_lease_runs(outbox, abandoned):
    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        counts = sweep()
        assert operation_claim(abandoned.pk) is None

    assert counts["operations"] == 0
    assert outbox.runs == []
    abandoned.refresh_from_db()
    assert abandoned.state == State.IN_FLIGHT


def test_it_resends_a_due_operation_whose_message_was_lost(outbox):
    with time_machine.travel(T0, tick=False):
        operation = OutboundOperationFactory(idempotency_key="acme:shift:2", next_attempt_at=T0)

    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        counts = sweep()

    assert counts["operations"] == 1
    assert outbox.runs == [("acme:shift:2", False)]
    operation.refresh_from_db()
    assert operation.state == State.SUCCEEDED


def test_it_runs_an_operation_once_when_two_workers_claim_it(outbox):
    operation = OutboundOperationFactory()

    first = operation_claim(operation.pk)
    second = operation_claim(operation.pk)

    assert first is not None
    assert second is None
    assert first.state == State.IN_FLIGHT
    assert first.attempts == 1
