"""Driving the outbox by hand in tests, on a controllable clock."""

from __future__ import annotations

from django.utils import timezone

from apps.core.models import OutboundOperation
from apps.core.operations import operation_run

State = OutboundOperation.State


def run_due_operations() -> int:
    """Run every operation due now, once; returns how many ran."""
    due = OutboundOperation.objects.filter(
        state__in=[State.PENDING, State.FAILED, State.UNKNOWN],
        next_attempt_at__lte=timezone.now()).values_list("pk", flat=True)
    ran = 0
    for operation_id in list(due):
        if operation_run(operation_id) is not None:
            ran += 1
    return ran


def next_due_at():
    return (OutboundOperation.objects.filter(
        state__in=[State.PENDING, State.FAILED, State.UNKNOWN])
        .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first())


def drive_outbox(traveller, *, max_steps: int = 500) -> None:
    """Run operations and jump the clock to the next due one until none is open."""
    for _ in range(max_steps):
        run_due_operations()
        due = next_due_at()
        if due is None:
            return
        wait = (due - timezone.now()).total_seconds()
        if wait > 0:
            traveller.shift(wait)
    raise AssertionError("the outbox did not settle")
