"""The whole Dimona story over real HTTP against the ONSS simulator."""

from datetime import timedelta

import pytest
import time_machine

from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import brussels, valid_ssin
from tests.dimona.helpers import drive_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]


def shift_body(employer, worker, start, hours=4):
    return {"employer": employer, "worker": worker, "start": start.isoformat(),
            "end": (start + timedelta(hours=hours)).isoformat()}


def test_it_declares_updates_cancels_and_handles_a_no_show(api_client, onss_simulator):
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=True) as traveller:
        employer = api_client.post("/api/dimona/employers/", {
            "name": "Frituur Marcel", "enterprise_number": "0403170701"}).json()["id"]
        workers = [api_client.post("/api/dimona/workers/", {
            "first_name": name, "last_name": "Flexi", "ssin": ssin}).json()["id"]
            for name, ssin in (("Lina", "85073003328"), ("Tom", valid_ssin("900215123")),
                               ("Sara", valid_ssin("010203123", born_2000=True)))]
        starts = [brussels(2026, 11, 23, 17), brussels(2026, 11, 23, 18),
                  brussels(2026, 11, 23, 11)]
        shifts = [api_client.post("/api/dimona/shifts/", shift_body(employer, w, s)).json()
                  for w, s in zip(workers, starts, strict=True)]

        for shift in shifts:
            # A new shift is proposed; accepting it is a step of its own.
            accepted = api_client.post(f"/api/dimona/shifts/{shift['id']}/accept/")
            assert accepted.status_code == 200, accepted.content
            response = api_client.post(f"/api/dimona/shifts/{shift['id']}/declare/")
            assert response.status_code == 200, response.content
        drive_outbox(traveller)

        first = api_client.get(f"/api/dimona/shifts/{shifts[0]['id']}/").json()
        declaration_in = first["declarations"][0]
        assert (declaration_in["kind"], declaration_in["status"], declaration_in["result"]) == (
            "in", "accepted", "A")
        assert declaration_in["period_id"] and declaration_in["declaration_id"]
        assert declaration_in["period_id"] != declaration_in["declaration_id"]

        validated = api_client.post(f"/api/dimona/shifts/{shifts[0]['id']}/validate-hours/", {
            "start": starts[0].isoformat(),
            "end": (starts[0] + timedelta(hours=5)).isoformat()})
        assert validated.status_code == 200, validated.content
        cancelled = api_client.post(f"/api/dimona/shifts/{shifts[1]['id']}/cancel/",
                                    {"reason": "worker sick"})
        assert cancelled.status_code == 200, cancelled.content
        drive_outbox(traveller)

        traveller.move_to(starts[2] + timedelta(minutes=31))
        no_show = api_client.post(f"/api/dimona/shifts/{shifts[2]['id']}/no-show/")
        assert no_show.status_code == 200, no_show.content
        drive_outbox(traveller)

    update = DimonaDeclaration.objects.get(shift_id=shifts[0]["id"], kind="update")
    assert (update.status, update.result, update.period_id) == (
        "accepted", "A", declaration_in["period_id"])
    cancel = DimonaDeclaration.objects.get(shift_id=shifts[1]["id"], kind="cancel")
    assert (cancel.status, cancel.result) == ("accepted", "A")
    no_show_cancel = DimonaDeclaration.objects.get(shift_id=shifts[2]["id"], kind="cancel")
    assert (no_show_cancel.status, no_show_cancel.reason) == ("accepted", "no_show")

    state = onss_simulator.state()
    assert state["declarations_by_kind"] == {"dimonaIn": 3, "dimonaUpdate": 1, "dimonaCancel": 2}
    periods = {p["periodId"]: p for p in state["periods"]}
    assert periods[int(declaration_in["period_id"])]["endHour"] == "2200"
