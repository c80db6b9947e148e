"""What each ONSS result does to the declaration and the shift."""

import itertools

import pytest
import time_machine

from apps.core.attention_selectors import attention_open_for
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration
from tests.dimona.conftest import API
from tests.dimona.factories import ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox

Status = DimonaDeclaration.Status
FLEXI_WARNING = {"errorId": "90017-510",
                 "label": {"nl": "Toegangsvoorwaarden voor flexi-jobs niet gerespecteerd",
                           "fr": "Conditions d'accès aux flexi-jobs non respectées"}}
WRONG_COMMISSION = {"errorId": "90374-349", "label": {
    "fr": "Incompatibilité entre commission paritaire et type de travailleur"}}


def declare_and_settle(shift):
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        declaration = services.shift_declare(shift=shift)
        drive_outbox(traveller)
    declaration.refresh_from_db()
    shift.refresh_from_db()
    return declaration


@pytest.mark.django_db
def test_it_stores_the_period_id_of_an_accepted_in(onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=656309292174)
    declaration = declare_and_settle(ShiftFactory())
    assert declaration.status == Status.ACCEPTED
    assert declaration.result == "A"
    assert declaration.declaration_id == "900000000001"
    assert declaration.period_id == "656309292174"
    assert declaration.completed_at is not None


@pytest.mark.django_db
def test_it_shows_the_anomalies_of_a_w(onss):
    onss.accept_posts()
    onss.result(900000000001, "W", anomalies=[FLEXI_WARNING])
    shift = ShiftFactory()
    declaration = declare_and_settle(shift)
    assert declaration.status == Status.ACCEPTED_WITH_WARNINGS
    assert declaration.anomalies == [{"code": "90017-510",
                                      "label": "Conditions d'accès aux flexi-jobs non respectées"}]
    assert declaration.period_id
    assert "90017-510" in attention_open_for(shift)["dimona.warnings"]


@pytest.mark.django_db
def test_it_flags_the_shift_of_a_refused_in_and_allows_a_new_one(onss):
    onss.accept_posts()
    onss.result(900000000001, "B", period_id=0, anomalies=[WRONG_COMMISSION])
    shift = ShiftFactory()
    declaration = declare_and_settle(shift)
    assert declaration.status == Status.REFUSED
    assert declaration.anomalies[0]["code"] == "90374-349"
    assert "refused" in attention_open_for(shift)["dimona.refused"]
    # A refused In is not active: the manager may fix the employer and declare again.
    assert services.shift_declare(shift=shift).pk != declaration.pk


@pytest.mark.django_db
def test_it_keeps_polling_a_sigedis_wait_at_the_minute_pace_until_a(onss):
    onss.accept_posts()
    answers = iter(["S", "S", "A"])
    seen = []

    def sigedis(request):
        from django.utils import timezone

        seen.append(timezone.now())
        result = next(answers)
        period = ', "period": {"id": 42}' if result == "A" else ""
        return 200, {}, f'{{"declarationStatus": {{"result": "{result}"{period}}}}}'

    onss.mock.add_callback("GET", f"{API}/declarations/900000000001", callback=sigedis)
    declaration = declare_and_settle(ShiftFactory())
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(seen)]
    assert gaps == [88, 60]  # 2 s → 90 s → 150 s: the slow grid after an S
    assert declaration.status == Status.ACCEPTED
    assert declaration.period_id == "42"


@pytest.mark.django_db
def test_it_fails_a_declaration_the_api_refuses_and_kills_the_operation(onss):
    onss.mock.post(f"{API}/declarations", status=400,
                   content_type="application/problem+json",
                   json={"type": "urn:problem-type:belgif:badRequest", "title": "Bad Request",
                         "detail": "Bad Request: Features required", "status": 400})
    shift = ShiftFactory()
    declaration = declare_and_settle(shift)
    assert declaration.status == Status.FAILED
    assert "Features required" in declaration.error
    assert declaration.operation.state == "dead"
    assert "Features required" in attention_open_for(shift)["dimona.refused"]


@pytest.mark.django_db
def test_it_counts_an_already_cancelled_period_as_cancelled(onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    onss.result(900000000002, "B", anomalies=[{"errorId": "00913-355", "label": {
        "nl": "Reeds geannuleerde Dimonaperiode"}}])
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    declare_and_settle(shift)
    with time_machine.travel(brussels(2026, 11, 22, 21), tick=False) as traveller:
        cancel = services.shift_cancel(shift=shift, reason="sick")
        drive_outbox(traveller)
    cancel.refresh_from_db()
    assert cancel.status == Status.ACCEPTED_WITH_WARNINGS
    assert onss.posted[-1] == {"dimonaCancel": {"periodId": 77}}
