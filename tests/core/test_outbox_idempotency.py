"""The same idempotency key gives one operation and one dispatch."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections, transaction

from apps.core import operations
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
            payload={"n": 1})

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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_enqueuing_one_key_at_the_same_moment_make_one_operation(
        outbox, monkeypatch):
    """The first worker's row is still uncommitted when the second inserts:
    on PostgreSQL the second waits on the unique index, then gets the first's."""
    dispatched = []
    monkeypatch.setattr(operations, "_dispatch_on_commit",
                        lambda operation_id, at=None: dispatched.append(operation_id))
    first_inserted = threading.Event()
    results: dict[str, tuple[OutboundOperation, bool]] = {}
    errors: list[BaseException] = []

    def worker(name: str, hold_open: bool) -> None:
        try:
            with transaction.atomic():
                results[name] = operation_enqueue(platform="acme", kind="test.scripted",
                                                  idempotency_key="acme:race")
                if hold_open:
                    first_inserted.set()
                    time.sleep(0.5)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            first_inserted.set()
            connections.close_all()

    first = threading.Thread(target=worker, args=("first", True))
    first.start()
    assert first_inserted.wait(5)
    second = threading.Thread(target=worker, args=("second", False))
    second.start()
    first.join(10)
    second.join(10)

    assert errors == []
    assert results["first"][1] is True
    assert results["second"][1] is False
    assert results["second"][0].pk == results["first"][0].pk
    assert OutboundOperation.objects.filter(idempotency_key="acme:race").count() == 1
    assert dispatched == [results["first"][0].pk]
