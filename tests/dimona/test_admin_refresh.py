"""A shift's page and the shifts' list refresh themselves while a declaration is
in flight, and stop once the ONSS has answered."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import ShiftFactory

pytestmark = pytest.mark.django_db

Status = DimonaDeclaration.Status
SHIFTS = reverse("admin:dimona_shift_changelist")
DECLARATIONS = reverse("admin:dimona_dimonadeclaration_changelist")


@pytest.mark.parametrize("status", [Status.PENDING, Status.SENT, Status.WAITING_SIGEDIS])
def test_it_refreshes_a_shift_while_its_declaration_is_in_flight(manager_client, status):
    shift = ShiftFactory()
    DimonaDeclaration.objects.create(shift=shift, kind="in", status=status)

    page = manager_client.get(reverse("admin:dimona_shift_change", args=[shift.pk]))
    listed = manager_client.get(SHIFTS)
    declarations = manager_client.get(DECLARATIONS)

    assert page.context["auto_refresh"].pending == 1
    [progress] = page.context["auto_refresh"].progress
    assert progress.summary == f"{shift} — Dimona-In: {Status(status).label}"
    assert b"hub-auto-refresh" in page.content
    assert listed.context["auto_refresh"].pending == 1
    assert declarations.context["auto_refresh"].pending == 1


@pytest.mark.parametrize("status", [Status.ACCEPTED, Status.REFUSED, Status.MANUAL_CHECK])
def test_it_does_not_refresh_once_the_onss_has_answered(manager_client, status):
    shift = ShiftFactory()
    DimonaDeclaration.objects.create(shift=shift, kind="in", status=status)
    ShiftFactory()

    page = manager_client.get(reverse("admin:dimona_shift_change", args=[shift.pk]))
    listed = manager_client.get(SHIFTS)

    assert page.context["auto_refresh"] is None
    assert listed.context["auto_refresh"] is None
    assert b"hub-auto-refresh" not in page.content + listed.content
