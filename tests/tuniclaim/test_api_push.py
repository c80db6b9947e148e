"""POST /api/tuniclaim/push-status/ and push-payment/: a manager's decision on a BS,
checked by the services, answered 202 with the BS, pushed through the outbox."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.core.api.parsers import DecimalJSONParser
from apps.core.models import OutboundOperation
from apps.tuniclaim import services
from apps.tuniclaim.models import BulletinSoin
from tests.factories import UserFactory
from tests.tuniclaim.factories import BulletinSoinFactory

pytestmark = pytest.mark.django_db

PUSH_STATUS = "/api/tuniclaim/push-status/"
PUSH_PAYMENT = "/api/tuniclaim/push-payment/"
Status = BulletinSoin.Status
Payment = BulletinSoin.PaymentStatus


def make_bulletin(**fields) -> BulletinSoin:
    return BulletinSoinFactory(amount_covered=Decimal("150.500"), **fields)


def pushes(kind: str) -> list[OutboundOperation]:
    return list(OutboundOperation.objects.filter(kind=kind).order_by("pk"))


def error(response) -> dict:
    return response.json()["error"]


# -- status ------------------------------------------------------------------------------------

def test_a_status_change_is_saved_pushed_and_answered_202_with_the_bs(api_client,
                                                                       manager_user):
    bulletin = make_bulletin()

    response = api_client.post(PUSH_STATUS, {"bs_id": bulletin.pk, "status": "validated"},
                               format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (bulletin.pk, "validated")
    assert body["processed_by"] == manager_user.get_username()
    assert "items" in body
    assert bulletin.insured_name not in response.content.decode()
    bulletin.refresh_from_db()
    assert bulletin.status == Status.VALIDATED
    [push] = pushes(services.PUSH_STATUS)
    assert push.payload["body"]["bsId"] == bulletin.number


def test_a_status_change_of_an_unknown_bs_is_404_and_pushes_nothing(api_client):
    response = api_client.post(PUSH_STATUS, {"bs_id": 999999, "status": "validated"},
                               format="json")

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
    assert not OutboundOperation.objects.exists()


def test_a_refused_transition_is_409_and_changes_nothing(api_client):
    bulletin = make_bulletin(status=Status.REJECTED)

    response = api_client.post(PUSH_STATUS, {"bs_id": bulletin.pk, "status": "validated"},
                               format="json")

    assert response.status_code == 409
    assert error(response)["code"] == "invalid_status_transition"
    bulletin.refresh_from_db()
    assert bulletin.status == Status.REJECTED
    assert not OutboundOperation.objects.exists()


def test_a_status_body_with_a_bad_value_an_unknown_field_or_nothing_is_400(api_client):
    bulletin = make_bulletin()

    bad_status = api_client.post(PUSH_STATUS, {"bs_id": bulletin.pk, "status": "PAYE"},
                                 format="json")
    unknown = api_client.post(PUSH_STATUS, {"bs_id": bulletin.pk, "status": "validated",
                                            "comment": "ok"}, format="json")
    empty = api_client.post(PUSH_STATUS, {}, format="json")

    assert bad_status.status_code == 400
    assert set(error(bad_status)["details"]) == {"status"}
    assert unknown.status_code == 400
    assert error(unknown)["code"] == "unknown_field"
    assert set(error(unknown)["details"]) == {"comment"}
    assert empty.status_code == 400
    assert set(error(empty)["details"]) == {"bs_id", "status"}
    assert not OutboundOperation.objects.exists()


# -- payment -----------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", ["150.125", 150.125], ids=["string", "number"])
def test_a_payment_is_saved_to_the_millime_and_pushed(api_client, amount):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION)

    response = api_client.post(PUSH_PAYMENT, {
        "bs_id": bulletin.pk, "payment_status": "EXECUTE_PARTIELLEMENT",
        "payment_date": "2026-11-30", "amount": amount, "transfer_reference": "VIR-2026-0042",
    }, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["payment_status"] == "EXECUTE_PARTIELLEMENT"
    assert body["payment_amount"] == "150.125"
    assert body["payment_date"] == "2026-11-30"
    bulletin.refresh_from_db()
    assert bulletin.payment_amount == Decimal("150.125")
    assert bulletin.transfer_reference == "VIR-2026-0042"
    [push] = pushes(services.PUSH_PAYMENT)
    assert push.payload["body"]["amount"] == "150.125"


def test_json_numbers_with_a_fraction_are_read_as_decimals_never_floats():
    body = DecimalJSONParser().parse(io.BytesIO(b'{"amount": 100.300, "bs_id": 7}'))

    assert body == {"amount": Decimal("100.300"), "bs_id": 7}
    assert isinstance(body["amount"], Decimal)
    assert str(body["amount"]) == "100.300"


def test_json_that_is_not_json_is_a_400(api_client):
    response = api_client.generic("POST", PUSH_PAYMENT, '{"amount": NaN}',
                                  content_type="application/json")

    assert response.status_code == 400
    assert error(response)["code"] == "parse_error"


def test_an_amount_finer_than_the_millime_is_400_and_nothing_is_pushed(api_client):
    bulletin = make_bulletin(status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION)

    response = api_client.post(PUSH_PAYMENT, {
        "bs_id": bulletin.pk, "payment_status": "EXECUTE", "amount": "10.0005"},
        format="json")

    assert response.status_code == 400
    assert set(error(response)["details"]) == {"amount"}
    assert not OutboundOperation.objects.exists()


def test_a_payment_the_service_refuses_is_its_409(api_client):
    bulletin = make_bulletin(status=Status.IN_PROGRESS)

    response = api_client.post(PUSH_PAYMENT, {"bs_id": bulletin.pk,
                                              "payment_status": "NON_EXECUTE"}, format="json")

    assert response.status_code == 409
    assert error(response)["code"] == "invalid_payment_transition"
    assert not OutboundOperation.objects.exists()


def test_a_payment_of_an_unknown_bs_is_404(api_client):
    response = api_client.post(PUSH_PAYMENT, {"bs_id": 424242, "payment_status": "EXECUTE"},
                               format="json")

    assert response.status_code == 404


def test_a_payment_body_with_an_unknown_field_is_400(api_client):
    bulletin = make_bulletin(status=Status.VALIDATED)

    response = api_client.post(PUSH_PAYMENT, {"bs_id": bulletin.pk,
                                              "payment_status": "NON_EXECUTE",
                                              "virementReference": "VIR-1"}, format="json")

    assert response.status_code == 400
    assert error(response)["code"] == "unknown_field"


# -- who may push ------------------------------------------------------------------------------

def test_only_managers_push():
    bulletin = make_bulletin()
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))

    anonymous = APIClient().post(PUSH_STATUS, {"bs_id": bulletin.pk, "status": "validated"},
                                 format="json")
    refused = staff.post(PUSH_PAYMENT, {"bs_id": bulletin.pk, "payment_status": "EXECUTE"},
                         format="json")

    assert anonymous.status_code == 401
    assert refused.status_code == 403
    assert not OutboundOperation.objects.exists()
