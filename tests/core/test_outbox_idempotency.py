"""The same idempotency key gives one operation and one dispatch."""

from __future__ import annotations

import pytest

from apps.core.models import OutboundOperation
from apps.core.operations import operation_enqueue

pytestmark = pytest.mark.django_db


def test_it_gives_one_operation_per_idempotency_key(outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first, first_created = operation_enqueue(
            platform="acme", kind="test.scripted", idempotency_key="acme:shift:42",
            payload={"n": 1})
        second, second_created = operation_enqueue(
            platform="acme", kind="test.scripted", idempotency_key="acme:shift:42",
            payload={"n": 2})

    assert (first_created, second_created) == (True, False)
    assert second.pk == first.pk
    assert OutboundOperation.objects.count() == 1
    assert len(callbacks) == 1
    assert outbox.runs == [("acme:shift:42", False)]
    first.refresh_from_db()
    assert first.state == OutboundOperation.State.SUCCEEDED
    assert first.payload == {"n": 1}


def test_it_returns_a_finished_operation_instead_of_a_new_one(
        outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        operation_enqueue(platform="acme", kind="test.scripted", idempotency_key="acme:shift:7")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        operation, created = operation_enqueue(platform="acme", kind="test.scripted",
                                               idempotency_key="acme:shift:7")

    assert not created
    assert operation.state == OutboundOperation.State.SUCCEEDED
    assert callbacks == []
    assert len(outbox.runs) == 1


def test_it_dispatches_only_after_the_commit(outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        operation, _ = operation_enqueue(platform="acme", kind="test.scripted",
                                         idempotency_key="acme:shift:8")
        assert outbox.runs == []

    assert len(callbacks) == 1
    operation.refresh_from_db()
    assert operation.state == OutboundOperation.State.PENDING


def test_it_refuses_a_kind_without_a_handler():
    with pytest.raises(ValueError, match="no outbox handler"):
        operation_enqueue(platform="acme", kind="test.unknown-kind", idempotency_key="x")
    assert not OutboundOperation.objects.exists()
