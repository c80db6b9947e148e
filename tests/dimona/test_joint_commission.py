"""An employer's joint commission: only what the ONSS takes is stored, and sent."""

import pytest
import time_machine

from apps.core.attention_selectors import attention_open_for
from apps.core.models import OutboundOperation
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration, Employer
from apps.dimona.validators import joint_commission_is_valid
from tests.dimona.factories import EmployerFactory, ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox

FUZZED = "\u001bÖ"


@pytest.mark.parametrize("value", ["XXX", "302", "118.03", "202.01", "118.00", "100"])
def test_it_knows_the_shapes_the_onss_takes(value):
    assert joint_commission_is_valid(value)


@pytest.mark.parametrize("value", [FUZZED, "", "xxx", "302\n", "3O2", "118.3", "1180.3",
                                   "302.01.20", "٣٠٢"])
def test_it_refuses_every_other_shape(value):
    # Normalising ("xxx" → "XXX") is the caller's job; the check itself is exact.
    assert not joint_commission_is_valid(value)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [FUZZED, "30\u00072", "XX\u007fX", "30\u20282", "PC 302"],
                         ids=["fuzzer", "bell", "del", "line-separator", "prefix"])
def test_it_refuses_a_bad_joint_commission_in_the_admin_form(admin_client, value):
    response = admin_client.post("/admin/dimona/employer/add/", {
        "name": "Frituur Marcel", "enterprise_number": "0403170701",
        "joint_commission": value, "created_at_0": "2026-11-22", "created_at_1": "12:00:00"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["joint_commission"]
    assert "XXX or a joint commission number" in errors["joint_commission"][0]
    assert not Employer.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "stored"), [("XXX", "XXX"), ("xxx", "XXX"),
                                               ("302", "302"), ("118.03", "118.03")])
def test_it_saves_a_good_joint_commission_from_the_admin_form(admin_client, value, stored):
    response = admin_client.post("/admin/dimona/employer/add/", {
        "name": "Frituur Marcel", "enterprise_number": "0403170701",
        "joint_commission": value, "created_at_0": "2026-11-22", "created_at_1": "12:00:00"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Employer.objects.get().joint_commission == stored


@pytest.mark.django_db
def test_it_never_sends_a_joint_commission_stored_before_the_check(onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    # As the fuzzer left it: written before the field had a validator.
    Employer.objects.filter(pk=shift.employer_id).update(joint_commission=FUZZED)

    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        declaration = services.shift_declare(shift=shift)
        drive_outbox(traveller)

    assert onss.posted == []
    declaration.refresh_from_db()
    shift.refresh_from_db()
    assert declaration.status == DimonaDeclaration.Status.FAILED
    assert "Not sent: the employer's joint commission '\\x1bÖ'" in declaration.error
    assert declaration.operation.state == OutboundOperation.State.DEAD
    assert "not accepted by the hub, not sent" in attention_open_for(shift)["dimona.refused"]
    # Nothing was attempted: an uncertain-send search must not start from here.
    assert declaration.send_attempted_at is None

    # Once the employer is corrected, the shift is declared again as usual.
    Employer.objects.filter(pk=shift.employer_id).update(joint_commission="XXX")
    with time_machine.travel(brussels(2026, 11, 22, 20, 30), tick=False) as traveller:
        again = services.shift_declare(shift=shift)
        drive_outbox(traveller)
    again.refresh_from_db()
    assert again.pk != declaration.pk
    assert again.status == DimonaDeclaration.Status.ACCEPTED
    assert onss.posted[0]["dimonaIn"]["features"]["jointCommissionNumber"] == "XXX"


@pytest.mark.django_db
def test_it_sends_a_lower_case_xxx_stored_before_the_check_as_the_onss_writes_it(onss):
    onss.accept_posts()
    onss.result(900000000001, "A", period_id=77)
    shift = ShiftFactory(employer=EmployerFactory())
    Employer.objects.filter(pk=shift.employer_id).update(joint_commission=" xxx")

    with time_machine.travel(brussels(2026, 11, 22, 20), tick=False) as traveller:
        services.shift_declare(shift=shift)
        drive_outbox(traveller)

    assert onss.posted[0]["dimonaIn"]["features"]["jointCommissionNumber"] == "XXX"
