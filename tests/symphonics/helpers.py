"""Helpers of the Symphonics tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from apps.core.models import OutboundOperation
from apps.core.operations import operation_run
from tests.helpers import wait_for


def run_again(operation: OutboundOperation) -> OutboundOperation:
    """Run an outbox operation now, as the sweep would once it is due."""
    OutboundOperation.objects.filter(pk=operation.pk).update(next_attempt_at=timezone.now())
    return operation_run(operation.pk) or OutboundOperation.objects.get(pk=operation.pk)


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll `predicate` until it holds (the simulator works in its own threads)."""
    wait_for(predicate, timeout, what="the simulator")


def _form_value(data: dict, name: str, value) -> None:
    if value is None:
        return
    if isinstance(value, datetime):
        # The admin's split widget: a date and a time, in the reader's zone.
        local = timezone.localtime(value)
        data[f"{name}_0"], data[f"{name}_1"] = f"{local:%Y-%m-%d}", f"{local:%H:%M:%S}"
    else:
        data[name] = getattr(value, "pk", value)


def change_form_data(response) -> dict:
    """What the change page's form would post back untouched, inlines included."""
    data: dict = {}
    form = response.context["adminform"].form
    for name in form.fields:
        _form_value(data, name, form[name].value())
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{key}": value
                     for key, value in formset.management_form.initial.items()})
        for index, inline_form in enumerate(formset.initial_forms):
            for name in inline_form.fields:
                _form_value(data, f"{formset.prefix}-{index}-{name}", inline_form[name].value())
    return data


def settled(sim, external_id: str, status: str) -> Callable[[], bool]:
    """The intervention reached `status` at Symphonics and every webhook was delivered."""

    def check() -> bool:
        with sim.lock:
            sim.run_due()
            found = sim.lifecycle.find_by_external_id(external_id)
            reached = found is not None and found.status == status
        return reached and sim.webhooks.pending() == 0

    return check
