"""Operations of one entity run in the order they were enqueued, one at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core import operations
from apps.core.http import PermanentError, TransientError
from apps.core.models import OutboundOperation
from apps.core.operations import (
    operation_claim,
    operation_mark_resolved,
    operation_retry_now,
    operation_run,
    operations_due_ids,
)
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db
State = OutboundOperation.State


@pytest.fixture
def dispatched(monkeypatch) -> list[int]:
    """Operation ids sent to the workers (after commit), instead of Celery."""
    sent: list[int] = []
    monkeypatch.setattr(operations, "_dispatch_on_commit",
                        lambda operation_id, at=None: sent.append(operation_id))
    return sent


def _pair(**older_fields) -> tuple[OutboundOperation, OutboundOperation]:
    now = timezone.now()
    older = OutboundOperationFactory(entity_type="booking", entity_id="7",
                                     created_at=now - timedelta(seconds=5), **older_fields)
    newer = OutboundOperationFactory(entity_type="booking", entity_id="7", created_at=now)
    return older, newer


@pytest.mark.parametrize("state", [State.PENDING, State.FAILED, State.UNKNOWN, State.IN_FLIGHT,
                                   State.DEAD])
def test_it_refuses_to_claim_while_an_older_operation_of_the_entity_is_open_or_dead(state):
    _older, newer = _pair(state=state, lease_expires_at=timezone.now() + timedelta(seconds=30))

    assert operation_claim(newer.pk) is None
    newer.refresh_from_db()
    assert newer.state == State.PENDING
    assert newer.attempts == 0


@pytest.mark.parametrize("state", [State.SUCCEEDED, State.SUPERSEDED])
def test_it_claims_once_the_older_operation_is_finished(state):
    _older, newer = _pair(state=state)

    assert operation_claim(newer.pk) is not None


def test_it_claims_the_older_one_even_when_a_newer_one_is_due_first():
    older, _newer = _pair(next_attempt_at=timezone.now() - timedelta(minutes=1))

    assert operation_claim(older.pk) is not None


def test_it_refuses_an_older_one_while_a_newer_one_is_in_flight():
    # An older operation whose transaction committed after the newer was claimed.
    older, newer = _pair()
    OutboundOperation.objects.filter(pk=newer.pk).update(
        state=State.IN_FLIGHT, lease_expires_at=timezone.now() + timedelta(seconds=30))

    assert operation_claim(older.pk) is None


def test_it_leaves_operations_of_other_entities_and_without_entity_alone():
    OutboundOperationFactory(entity_type="booking", entity_id="7", state=State.IN_FLIGHT,
                             lease_expires_at=timezone.now() + timedelta(seconds=30))
    other_entity = OutboundOperationFactory(entity_type="booking", entity_id="8")
    other_type = OutboundOperationFactory(entity_type="payment", entity_id="7")
    no_entity = [OutboundOperationFactory(entity_type="", entity_id="") for _ in range(2)]

    for operation in (other_entity, other_type, *no_entity):
        assert operation_claim(operation.pk) is not None


def test_it_dispatches_the_next_operation_of_the_entity_when_one_succeeds(outbox, dispatched):
    older, newer = _pair()
    assert operation_run(newer.pk) is None

    operation_run(older.pk)

    assert dispatched == [newer.pk]
    assert operation_run(newer.pk).state == State.SUCCEEDED
    assert [key for key, _ in outbox.runs] == [older.idempotency_key, newer.idempotency_key]


def test_it_keeps_the_next_one_waiting_while_the_older_one_retries(outbox, dispatched):
    older, newer = _pair()
    outbox.script[older.idempotency_key] = [TransientError("503", platform="acme")]

    older = operation_run(older.pk)

    assert older.state == State.FAILED
    assert dispatched == [older.pk]
    assert operation_run(newer.pk) is None


def test_it_holds_the_entity_back_behind_a_dead_operation_until_a_manager_acts(
        outbox, dispatched):
    older, newer = _pair()
    outbox.script[older.idempotency_key] = [PermanentError("refused", platform="acme")]

    older = operation_run(older.pk)

    assert older.state == State.DEAD
    assert dispatched == []
    assert operation_run(newer.pk) is None
    assert newer.pk not in operations_due_ids(timezone.now() + timedelta(hours=1))

    operation_mark_resolved(operation=older, note="done on the portal")

    assert dispatched == [newer.pk]
    assert operation_run(newer.pk).state == State.SUCCEEDED


def test_it_runs_the_dead_one_first_when_a_manager_retries_it(outbox, dispatched):
    older, newer = _pair(state=State.DEAD, next_attempt_at=None)

    operation_retry_now(operation=older)
    assert operation_run(newer.pk) is None
    operation_run(older.pk)

    assert dispatched == [older.pk, newer.pk]
    assert operation_run(newer.pk).state == State.SUCCEEDED


def test_it_leaves_waiting_operations_out_of_the_sweep():
    long_ago = timezone.now() - timedelta(hours=1)
    _older, newer = _pair(state=State.FAILED, next_attempt_at=timezone.now() + timedelta(hours=1))
    OutboundOperation.objects.filter(pk=newer.pk).update(next_attempt_at=long_ago)
    free = OutboundOperationFactory(next_attempt_at=long_ago)

    due = operations_due_ids()

    assert free.pk in due
    assert newer.pk not in due
