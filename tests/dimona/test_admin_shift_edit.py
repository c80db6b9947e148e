"""Editing a shift in the admin goes through the service: moved hours send a Dimona-Update."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from apps.dimona import services
from apps.dimona.models import Shift
from tests.dimona.factories import ShiftFactory, WorkerFactory, brussels
from tests.dimona.helpers import drive_outbox

pytestmark = pytest.mark.django_db


def declared_shift(onss, **kwargs) -> Shift:
    """A shift whose Dimona-In the (fake) ONSS accepted with period 77."""
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    onss.result(900000000002, "A", period_id=77)
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17), end=brussels(2026, 11, 23, 21),
                         **kwargs)
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        services.shift_declare(shift=shift)
        drive_outbox(traveller)
    return shift


def change_form(shift: Shift, *, start: str = "17:00:00", end: str = "21:00:00",
                worker=None) -> dict:
    declarations = list(shift.declarations.order_by("created_at", "pk"))
    data = {
        "employer": shift.employer_id, "worker": (worker or shift.worker).pk,
        "start_0": "2026-11-23", "start_1": start, "end_0": "2026-11-23", "end_1": end,
        "declarations-TOTAL_FORMS": len(declarations),
        "declarations-INITIAL_FORMS": len(declarations),
        "declarations-MIN_NUM_FORMS": 0, "declarations-MAX_NUM_FORMS": 1000,
    }
    for i, declaration in enumerate(declarations):
        data[f"declarations-{i}-id"] = declaration.pk
        data[f"declarations-{i}-shift"] = shift.pk
    return data


def save(client, shift: Shift, data: dict):
    return client.post(reverse("admin:dimona_shift_change", args=[shift.pk]), data)


def test_it_sends_a_dimona_update_when_a_declared_shifts_hours_move(manager_client, onss):
    shift = declared_shift(onss)

    with time_machine.travel(brussels(2026, 11, 23, 9), tick=False) as traveller:
        response = save(manager_client, shift, change_form(shift, end="22:30:00"))
        assert response.status_code == 302, response.content
        drive_outbox(traveller)

    said = [str(m) for m in manager_client.get(response["Location"]).context["messages"]]
    assert "The hours moved: a Dimona-Update for period 77 is sent to the ONSS." in said
    shift.refresh_from_db()
    assert shift.end == brussels(2026, 11, 23, 22, 30)
    update = shift.declarations.get(kind="update")
    assert (update.period_id, update.reason, update.status) == ("77", "hours_changed",
                                                                "accepted")
    assert update.declared_end == brussels(2026, 11, 23, 22, 30)
    assert len(onss.posted) == 2
    assert onss.posted[-1]["dimonaUpdate"]["periodId"] == 77


def test_it_sends_nothing_for_a_move_within_the_threshold_or_an_undeclared_shift(
        manager_client, onss):
    shift = declared_shift(onss)
    undeclared = ShiftFactory(start=brussels(2026, 11, 23, 17), end=brussels(2026, 11, 23, 21))

    within = save(manager_client, shift, change_form(shift, end="21:05:00"))
    moved = save(manager_client, undeclared, change_form(undeclared, end="23:00:00"))
    assert within.status_code == moved.status_code == 302

    # Never silently nothing: each edit says why no Update went out.
    said = [str(m) for m in manager_client.get(within["Location"]).context["messages"]]
    assert ("The hours changed by at most 15 minutes from the declared ones: no "
            "Dimona-Update is needed.") in said
    assert ("The hours changed. The shift is not declared yet: its Dimona-In will carry "
            "the new hours.") in said

    assert not shift.declarations.filter(kind="update").exists()
    assert not undeclared.declarations.exists()
    undeclared.refresh_from_db()
    assert undeclared.end == brussels(2026, 11, 23, 23)


def test_it_shows_a_refusal_on_the_form_and_changes_nothing(manager_client, onss):
    shift = declared_shift(onss)

    declared_worker = shift.worker

    response = save(manager_client, shift, change_form(shift, worker=WorkerFactory()))

    assert response.status_code == 200
    assert "cancel it and create another shift" in response.content.decode()
    shift.refresh_from_db()
    assert shift.worker == declared_worker


def test_it_refuses_to_move_the_hours_while_the_in_has_no_result(manager_client, onss):
    onss.accept_posts()
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17), end=brussels(2026, 11, 23, 21))
    services.shift_declare(shift=shift)

    response = save(manager_client, shift, change_form(shift, end="23:00:00"))

    assert response.status_code == 200
    assert "no result yet" in response.content.decode()
    shift.refresh_from_db()
    assert shift.end == brussels(2026, 11, 23, 21)
