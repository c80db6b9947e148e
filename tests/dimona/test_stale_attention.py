"""A late outcome of a cancelled shift's earlier declaration raises nothing.

Once a shift is cancelled (or a no-show), what its In or Update still brings
back is no longer the manager's problem; only the Cancel's own trouble is.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from apps.core.attention_selectors import attention_open_for
from apps.core.models import AttentionItem
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox, run_due_operations

pytestmark = pytest.mark.django_db

Status = DimonaDeclaration.Status
Kind = DimonaDeclaration.Kind
PERIOD_CANCELLED = {"errorId": "00913-355", "label": {"fr": "Période annulée"}}
WRONG_COMMISSION = {"errorId": "90374-349", "label": {"fr": "Commission paritaire incorrecte"}}
FLEXI_WARNING = {"errorId": "90017-510", "label": {"fr": "Conditions flexi non respectées"}}
IN_ID, UPDATE_ID, CANCEL_ID = 900000000001, 900000000002, 900000000003


def declare_then_move_an_hour(shift, traveller) -> None:
    """Declare the shift, let the In be accepted, then move its hours (an Update)."""
    services.shift_declare(shift=shift)
    drive_outbox(traveller)
    shift.refresh_from_db()
    services.shift_update(shift=shift, employer=shift.employer, worker=shift.worker,
                          start=shift.start + timedelta(hours=1),
                          end=shift.end + timedelta(hours=1))


def cancel_while_an_update_is_in_flight(onss, *, update_result: str, update_anomalies: list,
                                        cancel_result: str = "A",
                                        cancel_anomalies: list | None = None):
    """A declared shift's hours move (an Update is sent), then it is cancelled before
    the ONSS has answered the Update; both answers arrive after the Cancel."""
    onss.accept_posts()
    onss.result(IN_ID, "A", period_id=77)
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        declare_then_move_an_hour(shift, traveller)
        run_due_operations()  # the Update is sent, its result not polled yet
        services.shift_cancel(shift=shift, reason="closed")
        onss.result(UPDATE_ID, update_result, period_id=77, anomalies=update_anomalies)
        onss.result(CANCEL_ID, cancel_result, period_id=77, anomalies=cancel_anomalies)
        drive_outbox(traveller)
    shift.refresh_from_db()
    return shift


def declaration(shift, kind: str) -> DimonaDeclaration:
    return shift.declarations.get(kind=kind)


def test_it_raises_nothing_for_an_update_refused_after_the_cancel(onss):
    shift = cancel_while_an_update_is_in_flight(
        onss, update_result="B", update_anomalies=[PERIOD_CANCELLED])

    assert declaration(shift, Kind.UPDATE).status == Status.REFUSED
    assert declaration(shift, Kind.CANCEL).status == Status.ACCEPTED
    assert attention_open_for(shift) == {}
    assert not AttentionItem.objects.exists()


def test_it_raises_nothing_for_an_update_accepted_with_warnings_after_the_cancel(onss):
    shift = cancel_while_an_update_is_in_flight(
        onss, update_result="W", update_anomalies=[FLEXI_WARNING])

    assert declaration(shift, Kind.UPDATE).status == Status.ACCEPTED_WITH_WARNINGS
    assert attention_open_for(shift) == {}


def test_it_still_raises_the_cancels_own_refusal(onss):
    shift = cancel_while_an_update_is_in_flight(
        onss, update_result="B", update_anomalies=[PERIOD_CANCELLED],
        cancel_result="B", cancel_anomalies=[WRONG_COMMISSION])

    assert declaration(shift, Kind.CANCEL).status == Status.REFUSED
    item = AttentionItem.objects.open().get()
    assert (item.kind, item.subject) == (services.ATTENTION_REFUSED, shift)
    assert item.summary.startswith("Dimona-cancel refused: 90374-349")


def test_it_still_raises_an_update_refused_on_a_shift_that_goes_on(onss):
    onss.accept_posts()
    onss.result(IN_ID, "A", period_id=77)
    onss.result(UPDATE_ID, "B", period_id=77, anomalies=[WRONG_COMMISSION])
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        declare_then_move_an_hour(shift, traveller)
        drive_outbox(traveller)

    assert list(attention_open_for(shift)) == [services.ATTENTION_REFUSED]
