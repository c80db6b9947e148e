"""The read-only bordereaux and bulletins de soin of /api/tuniclaim/: their fields
(names masked, amounts to the millime), filters, pagination without a full
count, and a page of bulletins in a constant number of queries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.core.api import pagination
from apps.core.fields import mask
from apps.tuniclaim.models import Bordereau, BulletinSoin
from tests.factories import UserFactory
from tests.tuniclaim.factories import (
    BordereauFactory,
    BulletinSoinFactory,
    BulletinSoinItemFactory,
    ClientFactory,
)

pytestmark = pytest.mark.django_db

BORDEREAUX = "/api/tuniclaim/bordereaux/"
BULLETINS = "/api/tuniclaim/bulletins/"
Status = BulletinSoin.Status
Payment = BulletinSoin.PaymentStatus


def make_bordereau(*, client: str = "CLI-001", **fields) -> Bordereau:
    return BordereauFactory(client=ClientFactory(code=client), **fields)


def make_bulletin(bordereau: Bordereau | None = None, *, items: int = 0,
                  **fields) -> BulletinSoin:
    bulletin = BulletinSoinFactory(bordereau=bordereau or make_bordereau(), **fields)
    for line in range(items, 0, -1):  # created last line first: the answer orders them
        BulletinSoinItemFactory(bulletin=bulletin, line_number=line, product=f"Act {line}",
                                amount_claimed=Decimal("60.125"), amount_covered=Decimal("50"),
                                member_share=Decimal("10.125"))
    return bulletin


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# -- who may read --------------------------------------------------------------------------

def test_it_refuses_a_caller_without_credentials_and_a_signed_in_non_manager():
    anonymous = APIClient().get(BULLETINS)
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    for url in (BULLETINS, BORDEREAUX):
        refused = staff.get(url)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"


# -- bordereaux ------------------------------------------------------------------------------

def test_it_lists_bordereaux_newest_received_first_with_client_and_contract(api_client):
    older = make_bordereau(received_on=date(2026, 10, 1))
    newer = make_bordereau(received_on=date(2026, 11, 20))

    rows = results(api_client.get(BORDEREAUX))

    assert [row["id"] for row in rows] == [newer.pk, older.pk]
    assert rows[0]["reference"] == newer.reference
    assert rows[0]["client"] == {"id": newer.client_id, "code": "CLI-001",
                                 "name": newer.client.name}
    assert rows[0]["contract"] == {"id": newer.contract_id, "number": newer.contract.number,
                                   "settlement_days": 10, "claim_days": 30}
    assert rows[0]["received_on"] == "2026-11-20"
    assert rows[0]["status"] == "in_progress"
    assert rows[0]["platform_status"] == "EN_COURS"


def test_it_filters_bordereaux_by_client_code_status_and_reception_dates(api_client):
    wanted = make_bordereau(client="CLI-002", received_on=date(2026, 11, 10),
                            status=Bordereau.Status.PROCESSED)
    make_bordereau(client="CLI-001", received_on=date(2026, 11, 10),
                   status=Bordereau.Status.PROCESSED)
    make_bordereau(client="CLI-002", received_on=date(2026, 11, 10))
    make_bordereau(client="CLI-002", received_on=date(2026, 11, 11),
                   status=Bordereau.Status.PROCESSED)

    rows = results(api_client.get(BORDEREAUX, {
        "client": "CLI-002", "status": "processed", "received_from": "2026-11-10",
        "received_to": "2026-11-10"}))

    assert [row["id"] for row in rows] == [wanted.pk]


def test_it_shows_one_bordereau_and_answers_404_for_an_unknown_one(api_client):
    bordereau = make_bordereau()

    found = api_client.get(f"{BORDEREAUX}{bordereau.pk}/")
    missing = api_client.get(f"{BORDEREAUX}999999/")

    assert found.status_code == 200
    assert found.json()["external_id"] == bordereau.external_id
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_it_refuses_an_unknown_query_parameter_and_a_bad_filter_value(api_client):
    unknown = api_client.get(BORDEREAUX, {"client_name": "STAR"})
    bad_status = api_client.get(BORDEREAUX, {"status": "lost"})
    bad_date = api_client.get(BULLETINS, {"created_from": "yesterday"})

    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_query_parameter"
    assert set(unknown.json()["error"]["details"]) == {"client_name"}
    assert bad_status.status_code == 400
    assert "status" in bad_status.json()["error"]["details"]
    assert bad_date.status_code == 400
    assert "created_from" in bad_date.json()["error"]["details"]


# -- bulletins ---------------------------------------------------------------------------------

def test_it_masks_the_names_and_shows_amounts_to_the_millime(api_client):
    bulletin = make_bulletin(insured_name="Mohamed Ben Salah", beneficiary_name="Amira Trabelsi",
                             amount_claimed=Decimal("180.25"), amount_covered=Decimal("150.5"))

    response = api_client.get(BULLETINS)

    [row] = results(response)
    body = response.content.decode()
    assert "Mohamed" not in body and "Amira" not in body
    assert row["insured_name"] == mask("Mohamed Ben Salah")
    assert row["insured_name"].endswith("lah")
    assert row["beneficiary_name"] == mask("Amira Trabelsi")
    assert row["amount_claimed"] == "180.250"
    assert row["amount_covered"] == "150.500"
    assert row["payment_amount"] is None
    assert row["bordereau"] == bulletin.bordereau_id
    assert row["bordereau_reference"] == bulletin.bordereau.reference
    assert row["client_code"] == "CLI-001"
    assert row["insured_code"] == bulletin.insured_code
    assert "items" not in row


def test_one_bulletin_shows_its_care_acts_in_line_order(api_client):
    bulletin = make_bulletin(items=3)

    response = api_client.get(f"{BULLETINS}{bulletin.pk}/")

    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert [item["line_number"] for item in items] == [1, 2, 3]
    assert items[0]["product"] == "Act 1"
    assert (items[0]["amount_claimed"], items[0]["amount_covered"],
            items[0]["member_share"]) == ("60.125", "50.000", "10.125")
    assert bulletin.insured_name not in response.content.decode()
    assert api_client.get(f"{BULLETINS}999999/").status_code == 404


def test_it_filters_bulletins_by_client_bordereau_status_payment_and_creation_dates(
        api_client):
    bordereau = make_bordereau(client="CLI-009")
    wanted = make_bulletin(bordereau, status=Status.VALIDATED,
                           payment_status=Payment.IN_EXECUTION, created_on=date(2026, 11, 5))
    make_bulletin(bordereau, status=Status.VALIDATED, payment_status=Payment.EXECUTED,
                  created_on=date(2026, 11, 5))
    make_bulletin(bordereau, status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION,
                  created_on=date(2026, 11, 6))
    make_bulletin(bordereau, status=Status.ON_HOLD, created_on=date(2026, 11, 5))
    make_bulletin(make_bordereau(client="CLI-009"), status=Status.VALIDATED,
                  payment_status=Payment.IN_EXECUTION, created_on=date(2026, 11, 5))
    make_bulletin(status=Status.VALIDATED, payment_status=Payment.IN_EXECUTION,
                  created_on=date(2026, 11, 5))

    by_bordereau = results(api_client.get(BULLETINS, {
        "bordereau": bordereau.pk, "status": "validated",
        "payment_status": "EN_COURS_EXECUTION", "created_from": "2026-11-05",
        "created_to": "2026-11-05"}))
    by_client = results(api_client.get(BULLETINS, {
        "client": "CLI-009", "payment_status": "EN_COURS_EXECUTION",
        "created_to": "2026-11-05"}))

    assert [row["id"] for row in by_bordereau] == [wanted.pk]
    assert len(by_client) == 2
    assert wanted.pk in {row["id"] for row in by_client}


def test_an_unknown_bordereau_filter_is_refused(api_client):
    response = api_client.get(BULLETINS, {"bordereau": 999999})

    assert response.status_code == 400
    assert "bordereau" in response.json()["error"]["details"]


def test_a_page_of_bulletins_costs_the_same_queries_whatever_its_size(api_client):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get(BULLETINS, {"page_size": 100}).status_code == 200
        return len(captured)

    make_bulletin(items=2)
    small = queries_for_page()
    for _ in range(4):
        bordereau = make_bordereau(client=ClientFactory().code)
        for _ in range(10):
            make_bulletin(bordereau, items=2)
    large = queries_for_page()

    assert large == small
    # The caller's groups (the permission), the count, and the page with its
    # bordereau and client joined.
    assert small <= 3


def test_a_page_of_bordereaux_costs_the_same_queries_whatever_its_size(
        api_client, django_assert_max_num_queries):
    for n in range(30):
        make_bordereau(client=f"CLI-{n}")

    with django_assert_max_num_queries(3):
        assert len(results(api_client.get(BORDEREAUX, {"page_size": 100}))) == 30


# -- pagination --------------------------------------------------------------------------------

def test_the_count_is_exact_while_it_stays_under_the_cap(api_client):
    for _ in range(3):
        make_bulletin()

    body = api_client.get(BULLETINS, {"page_size": 2}).json()

    assert body["count"] == 3
    assert body["count_is_exact"] is True
    assert body["next"] is not None
    assert len(body["results"]) == 2


def test_the_count_stops_past_the_page_asked_for_and_says_so(api_client, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_AHEAD", 3)
    for _ in range(8):
        make_bulletin()

    first = api_client.get(BULLETINS, {"page_size": 2}).json()
    third = api_client.get(BULLETINS, {"page_size": 2, "page": 3}).json()
    last = api_client.get(BULLETINS, {"page_size": 2, "page": 4}).json()

    assert (first["count"], first["count_is_exact"]) == (3, False)
    assert first["next"] is not None
    # Page 3 counts up to 3 rows past its first: rows 5 to 7, of 8.
    assert (third["count"], third["count_is_exact"]) == (7, False)
    assert len(third["results"]) == 2
    assert third["next"] is not None
    assert (last["count"], last["count_is_exact"]) == (8, True)
    assert last["next"] is None


@pytest.mark.parametrize("page", ["2", str(10**30), "0", "last", "two"])
def test_a_page_that_is_not_there_is_404(api_client, page):
    make_bulletin()

    response = api_client.get(BULLETINS, {"page": page})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
