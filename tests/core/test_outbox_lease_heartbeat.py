"""A worker renews its lease while its handler runs: however long the call,
no other worker can take the operation meanwhile."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from apps.core.models import OutboundOperation
from apps.core.operations import Done, operation_claim, operation_run, operations_due_ids
from tests.factories import OutboundOperationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 1
State = OutboundOperation.State


def test_it_keeps_an_operation_from_other_workers_while_its_handler_runs(outbox, settings):
    settings.OUTBOX_LEASE_SECONDS = LEASE_SECONDS
    operation = OutboundOperationFactory(idempotency_key="acme:slow:1")
    handler_started, handler_done = threading.Event(), threading.Event()
    taken_by_rival: list[str] = []
    rival_errors: list[BaseException] = []

    def slow_call(op):
        handler_started.set()
        time.sleep(3 * LEASE_SECONDS)
        return Done({"ok": True})

    def rival_worker() -> None:
        # Another worker and the sweep, trying all along the handler's call.
        try:
            handler_started.wait(5)
            while not handler_done.is_set():
                if operation.pk in operations_due_ids():
                    taken_by_rival.append("sweep")
                if operation_claim(operation.pk) is not None:
                    taken_by_rival.append("claim")
                time.sleep(0.05)
        except BaseException as exc:  # reported by the test's thread
            rival_errors.append(exc)
        finally:
            connections.close_all()

    outbox.script[operation.idempotency_key] = [slow_call]
    rival = threading.Thread(target=rival_worker)
    rival.start()
    try:
        started = time.monotonic()
        finished = operation_run(operation.pk)
        took = time.monotonic() - started
    finally:
        handler_done.set()
        rival.join(10)

    assert rival_errors == []
    assert taken_by_rival == []
    assert outbox.runs == [("acme:slow:1", False)]
    assert finished.state == State.SUCCEEDED
    assert finished.attempts == 1
    assert finished.lease_expires_at is None
    # The heartbeat stops as soon as the handler returns.
    assert took < 3 * LEASE_SECONDS + 1
    assert not [t for t in threading.enumerate() if t.name.startswith("outbox-lease-")]
