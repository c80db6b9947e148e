"""A manager's "retry now" and "mark resolved"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.http import PermanentError
from apps.core.models import OutboundOperation
from apps.core.operations import (
    operation_claim,
    operation_mark_resolved,
    operation_reopen,
    operation_retry_now,
)
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db
State = OutboundOperation.State


def test_it_retries_a_dead_operation_now(outbox, django_capture_on_commit_callbacks):
    operation = OutboundOperationFactory(state=State.DEAD, failures=8, next_attempt_at=None,
                                         needs_reconcile=True)

    with django_capture_on_commit_callbacks(execute=True):
        operation_retry_now(operation=operation)

    operation.refresh_from_db()
    assert operation.state == State.SUCCEEDED
    assert outbox.runs == [(operation.idempotency_key, True)]


def test_it_resets_the_failure_count_on_retry_now(outbox, django_capture_on_commit_callbacks):
    operation = OutboundOperationFactory(state=State.DEAD, failures=8, next_attempt_at=None)
    outbox.script[operation.idempotency_key] = [PermanentError("no", platform="acme")]

    with django_capture_on_commit_callbacks(execute=False):
        operation = operation_retry_now(operation=operation)

    assert operation.state == State.FAILED
    assert operation.failures == 0
    assert operation.next_attempt_at is not None


@pytest.mark.parametrize("state", [State.SUCCEEDED, State.IN_FLIGHT])
def test_it_refuses_to_retry_a_finished_or_running_operation(state):
    operation = OutboundOperationFactory(state=state)

    with pytest.raises(ValueError, match="operation is"):
        operation_retry_now(operation=operation)


def test_it_marks_an_operation_resolved_by_hand():
    operation = OutboundOperationFactory(state=State.DEAD, result={"remote_id": "R-9"})

    operation = operation_mark_resolved(operation=operation, note="declared on the portal")

    operation.refresh_from_db()
    assert operation.state == State.SUCCEEDED
    assert operation.completed_at is not None
    assert operation.result == {"remote_id": "R-9", "resolved_by_hand": "declared on the portal"}


def test_it_refuses_to_resolve_an_operation_in_flight():
    operation = OutboundOperationFactory(state=State.IN_FLIGHT)

    with pytest.raises(ValueError, match="in flight"):
        operation_mark_resolved(operation=operation, note="x")


def test_it_offers_both_actions_in_the_admin(outbox, admin_client,
                                              django_capture_on_commit_callbacks):
    dead = OutboundOperationFactory(state=State.DEAD)
    stuck = OutboundOperationFactory(state=State.UNKNOWN)
    running = OutboundOperationFactory(state=State.IN_FLIGHT)
    url = reverse("admin:core_outboundoperation_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "retry_now", "_selected_action": [dead.pk]})
    response = admin_client.post(url, {"action": "mark_resolved",
                                       "_selected_action": [stuck.pk, running.pk]}, follow=True)

    dead.refresh_from_db()
    stuck.refresh_from_db()
    running.refresh_from_db()
    assert dead.state == State.SUCCEEDED
    assert stuck.state == State.SUCCEEDED
    assert stuck.result["resolved_by_hand"] == "marked resolved by admin"
    assert running.state == State.IN_FLIGHT
    messages = [str(message) for message in response.context["messages"]]
    assert any("in flight" in message for message in messages)


@pytest.mark.parametrize("action", [
    lambda operation: operation_retry_now(operation=operation),
    lambda operation: operation_mark_resolved(operation=operation, note="portal"),
    lambda operation: operation_reopen(operation=operation),
], ids=["retry now", "mark resolved", "reopen"])
def test_a_manager_action_on_a_stale_page_leaves_an_operation_in_flight_alone(outbox, action):
    """The admin page read the operation as failed; a worker claimed it since."""
    operation = OutboundOperationFactory(state=State.FAILED, failures=2)
    as_the_page_saw_it = OutboundOperation.objects.get(pk=operation.pk)
    assert operation_claim(operation.pk) is not None

    with pytest.raises(ValueError, match="in flight"):
        action(as_the_page_saw_it)

    operation.refresh_from_db()
    assert operation.state == State.IN_FLIGHT
    assert operation.failures == 2
