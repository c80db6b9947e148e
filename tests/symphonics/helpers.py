"""Helpers of the Symphonics tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.utils import timezone

from apps.core.models import OutboundOperation
from apps.core.operations import operation_run


def run_again(operation: OutboundOperation) -> OutboundOperation:
    """Run an outbox operation now, as the sweep would once it is due."""
    OutboundOperation.objects.filter(pk=operation.pk).update(next_attempt_at=timezone.now())
    return operation_run(operation.pk) or OutboundOperation.objects.get(pk=operation.pk)


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll `predicate` until it holds (the simulator works in its own threads)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the simulator"
        time.sleep(0.02)
