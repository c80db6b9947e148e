"""A dead operation is on the attention queue until it succeeds or a manager acts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.attention import attention_raise
from apps.core.http import PermanentError, TransientError
from apps.core.models import AttentionItem, OutboundOperation
from apps.core.operations import (
    Done,
    operation_mark_resolved,
    operation_reopen,
    operation_retry_now,
    operation_run,
)
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db
State = OutboundOperation.State


def _open_items(operation: OutboundOperation) -> list[AttentionItem]:
    return [item for item in AttentionItem.objects.open() if item.subject == operation]


def _dead(outbox) -> OutboundOperation:
    operation = OutboundOperationFactory(platform="acme", kind="test.scripted")
    outbox.script[operation.idempotency_key] = [
        PermanentError("booking refused: unknown table", platform="acme"), Done({"ok": True})]
    operation = operation_run(operation.pk)
    assert operation.state == State.DEAD
    return operation


def test_it_raises_an_attention_item_when_an_operation_dies(outbox):
    operation = _dead(outbox)

    (item,) = _open_items(operation)
    assert (item.domain, item.kind) == ("acme", "outbox.dead")
    assert operation.idempotency_key in item.summary
    assert "unknown table" in item.summary
    assert "retry now" in item.action_hint


def test_it_raises_one_when_the_schedule_gives_up(outbox):
    operation = OutboundOperationFactory(kind="test.scheduled", failures=5, attempts=5)
    outbox.script[operation.idempotency_key] = [TransientError("503", platform="acme")]

    operation = operation_run(operation.pk)

    assert operation.state == State.DEAD
    assert [item.kind for item in _open_items(operation)] == ["outbox.dead"]


def test_it_clears_the_item_when_a_manager_retries_now_from_the_admin(
        outbox, admin_client, django_capture_on_commit_callbacks):
    operation = _dead(outbox)
    outbox.script[operation.idempotency_key] = [PermanentError("still refused", platform="acme")]

    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(reverse("admin:core_outboundoperation_changelist"),
                          {"action": "retry_now", "_selected_action": [operation.pk]})

    operation.refresh_from_db()
    assert operation.state == State.FAILED
    assert _open_items(operation) == []
    assert AttentionItem.objects.get().cleared_at is not None


def test_it_raises_a_new_item_when_the_retried_operation_dies_again(outbox):
    operation = _dead(outbox)
    outbox.script[operation.idempotency_key] = [PermanentError("still refused", platform="acme")]

    operation_retry_now(operation=operation)
    operation = operation_run(operation.pk)

    assert operation.state == State.DEAD
    assert len(_open_items(operation)) == 1
    assert AttentionItem.objects.count() == 2


@pytest.mark.parametrize("act", [
    lambda operation: operation_mark_resolved(operation=operation, note="done on the portal"),
    lambda operation: operation_reopen(operation=operation),
], ids=["mark-resolved", "reopen"])
def test_it_clears_the_item_when_a_manager_settles_it(outbox, act):
    operation = _dead(outbox)

    act(operation)

    assert _open_items(operation) == []


def test_it_clears_the_item_when_the_operation_succeeds(outbox):
    operation = OutboundOperationFactory(state=State.FAILED, attempts=1, failures=1)
    attention_raise(domain="acme", kind="outbox.dead", subject=operation, summary="dead")

    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED
    assert _open_items(operation) == []
