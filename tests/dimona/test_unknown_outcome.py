"""A POST that times out after reaching the ONSS is never sent a second time:
the hub looks for the period first and adopts it."""

import time

import pytest
import time_machine

from apps.core.models import OutboundOperation
from apps.dimona import services
from apps.dimona.client import dimona_client
from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox, run_due_operations

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]


def received_ins(simulator) -> int:
    return simulator.state()["declarations_by_kind"].get("dimonaIn", 0)


def test_it_adopts_the_period_instead_of_declaring_twice(settings, onss_simulator):
    settings.DIMONA_READ_TIMEOUT_SECONDS = 0.3
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=True) as traveller:
        dimona_client().http.auth.token()  # so that only the POST hangs
        onss_simulator.faults.update({"hang_seconds": 0.8, "hang_rate": 1.0})
        declaration = services.shift_declare(shift=shift)
        run_due_operations()
        onss_simulator.faults.update({"hang_seconds": 0, "hang_rate": 0})

        operation = OutboundOperation.objects.get(pk=declaration.operation_id)
        assert operation.state == OutboundOperation.State.UNKNOWN
        assert operation.needs_reconcile
        deadline = time.monotonic() + 5
        while received_ins(onss_simulator) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # the simulator finishes the hung request in real time
        drive_outbox(traveller)

    declaration.refresh_from_db()
    assert received_ins(onss_simulator) == 1
    assert declaration.status == DimonaDeclaration.Status.ACCEPTED
    assert declaration.period_id
    assert "not sent again" in declaration.error
    period = onss_simulator.state()["periods"][0]
    assert str(period["periodId"]) == declaration.period_id


def test_it_sends_again_when_the_onss_never_got_it(settings, onss_simulator):
    settings.DIMONA_RECONCILE_WAIT_SECONDS = 60
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=True) as traveller:
        declaration = services.shift_declare(shift=shift)
        # The first attempt is lost before the ONSS answers (simulated: mark the
        # operation as abandoned in flight, as a crashed worker would leave it).
        OutboundOperation.objects.filter(pk=declaration.operation_id).update(
            state=OutboundOperation.State.UNKNOWN, needs_reconcile=True)
        DimonaDeclaration.objects.filter(pk=declaration.pk).update(
            send_attempted_at=brussels(2026, 11, 22, 20))
        drive_outbox(traveller)
    declaration.refresh_from_db()
    assert received_ins(onss_simulator) == 1
    assert declaration.status == DimonaDeclaration.Status.ACCEPTED
    assert declaration.result == "A"
