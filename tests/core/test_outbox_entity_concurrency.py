"""Two workers racing over the operations of one entity never run two at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from apps.core import operations
from apps.core.models import OutboundOperation
from apps.core.operations import Done, operation_run
from tests.factories import OutboundOperationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
State = OutboundOperation.State
OPERATIONS = 6


def test_it_runs_one_operation_of_an_entity_at_a_time_in_order(outbox, monkeypatch):
    monkeypatch.setattr(operations, "_dispatch_on_commit", lambda operation_id, at=None: None)
    start = timezone.now() - timedelta(minutes=1)
    entity = [OutboundOperationFactory(entity_type="booking", entity_id="7",
                                       created_at=start + timedelta(seconds=i))
              for i in range(OPERATIONS)]
    # Operations of another entity, which either worker may run meanwhile.
    other = [OutboundOperationFactory(entity_type="booking", entity_id="8",
                                      created_at=start + timedelta(seconds=i))
             for i in range(OPERATIONS)]
    lock = threading.Lock()
    running: set[int] = set()
    overlaps: list[tuple[int, ...]] = []

    def call(operation):
        with lock:
            running.add(operation.pk)
            mine = {pk for pk in running if pk in entity_ids}
            if len(mine) > 1:
                overlaps.append(tuple(sorted(mine)))
        # Long enough for the other worker to try the entity's next operations.
        time.sleep(0.05)
        with lock:
            running.discard(operation.pk)
        return Done({"ok": True})

    entity_ids = {operation.pk for operation in entity}
    for operation in entity + other:
        outbox.script[operation.idempotency_key] = [call]
    everything = [operation.pk for operation in entity + other]
    errors: list[BaseException] = []

    def worker(order: list[int]) -> None:
        # Each worker tries every operation over and over, as the sweep and
        # stray Celery messages would, until all have run.
        try:
            while OutboundOperation.objects.filter(
                    pk__in=everything).exclude(state=State.SUCCEEDED).exists():
                for operation_id in order:
                    operation_run(operation_id)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    # Both start on the entity, one with its newest operation, the other with its oldest.
    entity_pks = [operation.pk for operation in entity]
    other_pks = [operation.pk for operation in other]
    threads = [threading.Thread(target=worker, args=(entity_pks[::-1] + other_pks,)),
               threading.Thread(target=worker, args=(entity_pks + other_pks,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert overlaps == []
    ran = [key for key, _ in outbox.runs]
    assert [key for key in ran if key in {o.idempotency_key for o in entity}] == [
        operation.idempotency_key for operation in entity]
    assert len(ran) == 2 * OPERATIONS
