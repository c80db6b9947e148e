"""The shifts' attention column: no stale ⚠ on a cancelled shift.

Cancelling clears the shift's items, but an earlier declaration's outcome
(an Update refused because its period is cancelled…) can still arrive and
raise one; on a cancelled shift only its Cancel's own trouble is shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.dimona import services
from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory

pytestmark = pytest.mark.django_db

Status = DimonaDeclaration.Status
SHIFTS = reverse("admin:dimona_shift_changelist")


def cancelled_shift(*, cancel_status: str) -> Shift:
    shift = ShiftFactory(status=Shift.Status.CANCELLED)
    DimonaDeclaration.objects.create(shift=shift, kind="in", status=Status.ACCEPTED,
                                     period_id="77")
    DimonaDeclaration.objects.create(shift=shift, kind="cancel", status=cancel_status,
                                     period_id="77")
    return shift


def listed(client, **params) -> dict[int, str]:
    page = client.get(SHIFTS, params)
    return {shift.pk: shift.attention_reason for shift in page.context["cl"].result_list}


def test_it_shows_no_attention_for_an_item_that_outlived_the_cancel(manager_client):
    shift = cancelled_shift(cancel_status=Status.ACCEPTED)
    services.shift_attention_raise(shift=shift, kind=services.ATTENTION_REFUSED,
                                   summary="Dimona-update refused: 00913-355")

    page = manager_client.get(SHIFTS)

    assert listed(manager_client) == {shift.pk: ""}
    assert "⚠" not in page.content.decode()
    assert listed(manager_client, needs_attention="1") == {}
    assert shift.pk in listed(manager_client, needs_attention="0")


def test_it_still_shows_a_cancel_that_went_wrong(manager_client):
    shift = cancelled_shift(cancel_status=Status.REFUSED)
    services.shift_attention_raise(shift=shift, kind=services.ATTENTION_REFUSED,
                                   summary="Dimona-cancel refused: 90377-369")

    page = manager_client.get(SHIFTS)

    assert "⚠ Dimona-cancel refused: 90377-369" in page.content.decode()
    assert list(listed(manager_client, needs_attention="1")) == [shift.pk]


def test_it_shows_the_attention_of_a_shift_still_on(manager_client):
    shift = ShiftFactory()
    services.shift_attention_raise(shift=shift, kind=services.ATTENTION_WARNINGS,
                                   summary="Dimona accepted with warnings: 90017-510")

    assert listed(manager_client, needs_attention="1") == {
        shift.pk: "Dimona accepted with warnings: 90017-510"}


def test_the_shifts_api_hides_the_same_stale_item(api_client):
    stale = cancelled_shift(cancel_status=Status.ACCEPTED)
    services.shift_attention_raise(shift=stale, kind=services.ATTENTION_REFUSED,
                                   summary="Dimona-update refused: 00913-355")
    failed = cancelled_shift(cancel_status=Status.REFUSED)
    services.shift_attention_raise(shift=failed, kind=services.ATTENTION_REFUSED,
                                   summary="Dimona-cancel refused: 90377-369")

    shifts = {row["id"]: row for row in api_client.get("/api/dimona/shifts/").json()["results"]}

    assert (shifts[stale.pk]["needs_attention"], shifts[stale.pk]["attention_reason"]) == (
        False, "")
    assert shifts[failed.pk]["needs_attention"] is True
    assert shifts[failed.pk]["attention_reason"] == "Dimona-cancel refused: 90377-369"
