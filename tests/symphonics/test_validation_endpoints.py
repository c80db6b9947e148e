"""PDL and user validation proxied to Symphonics, positive answers cached."""

from __future__ import annotations

import pytest

from apps.core.models import SyncLog
from apps.symphonics.services import intervention_check_pdl
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

BASE = "/api/symphonics/validate"


def test_it_validates_a_pdl_and_caches_the_positive_answer(api_client, simulator):
    sim = simulator()

    first = api_client.get(f"{BASE}/pdl/12345678901234/")
    second = api_client.get(f"{BASE}/pdl/12345678901234/")

    assert first.status_code == 200
    assert first.json() == {"valid": True, "pdl": "12345678901234", "meter_type": "electronic",
                            "address": {"street": "123 Rue de Paris", "postal_code": "75001",
                                        "city": "Paris"}, "message": "", "cached": False}
    assert second.json()["cached"] is True
    assert sim.endpoint_requests["GET /validation/pdl/{pdl}"] == 1


@pytest.mark.parametrize(("pdl", "message"), [
    ("45678901234567", "PDL is not a valid delivery point"),
    ("99999999999999", "PDL 99999999999999 not found"),
])
def test_it_answers_invalid_pdls_without_caching_them(api_client, simulator, pdl, message):
    sim = simulator()

    answers = [api_client.get(f"{BASE}/pdl/{pdl}/").json() for _ in range(2)]

    assert answers[0]["valid"] is False
    assert message in answers[0]["message"]
    assert answers[1]["cached"] is False
    assert sim.endpoint_requests["GET /validation/pdl/{pdl}"] == 2


def test_it_refuses_a_malformed_pdl_without_asking(api_client, simulator):
    sim = simulator()

    response = api_client.get(f"{BASE}/pdl/1234/")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"pdl": ["PDL must be 14 digits."]}
    assert sim.request_count == 0


def test_it_looks_up_a_pdl_by_address_and_name(api_client, simulator):
    sim = simulator()
    body = {"address": {"street": "123 Rue de Paris", "postal_code": "75001", "city": "Paris"},
            "customer_name": "Martin"}

    first = api_client.post(f"{BASE}/pdl/lookup/", body, format="json")
    second = api_client.post(f"{BASE}/pdl/lookup/", body, format="json")

    assert first.status_code == 200
    assert first.json()["pdl"] == "12345678901234"
    assert first.json()["confidence"] == 0.95
    assert second.json()["cached"] is True
    assert sim.endpoint_requests["POST /validation/pdl/lookup"] == 1
    # The customer's name stays out of the audit trail.
    assert "Martin" not in SyncLog.objects.get(action="validation.pdl_lookup").request_body


def test_it_answers_404_when_no_pdl_matches_the_address(api_client, simulator):
    simulator()
    body = {"address": {"street": "1 Nulle Part", "postal_code": "12345", "city": "Ailleurs"},
            "customer_name": "Personne"}

    response = api_client.post(f"{BASE}/pdl/lookup/", body, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("body", "field"), [
    ({"address": {"street": "1 Rue", "postal_code": "7500", "city": "Paris"},
      "customer_name": "Martin"}, "address.postal_code"),
    ({"address": {"street": "1 Rue", "postal_code": "75001"}, "customer_name": "Martin"},
     "address.city"),
    ({"address": {"street": "1 Rue", "postal_code": "75001", "city": "Paris"}},
     "customer_name"),
])
def test_it_refuses_an_incomplete_lookup_naming_the_field(api_client, simulator, body, field):
    sim = simulator()

    response = api_client.post(f"{BASE}/pdl/lookup/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert sim.request_count == 0


@pytest.mark.parametrize(("email", "exists", "status"), [
    ("test.user@example.com", True, "active"),
    ("inactive.user@example.com", True, "inactive"),
    ("nonexistent@example.com", False, ""),
])
def test_it_validates_users(api_client, simulator, email, exists, status):
    sim = simulator()

    first = api_client.get(f"{BASE}/user/{email}/").json()
    second = api_client.get(f"{BASE}/user/{email}/").json()

    assert (first["exists"], first["status"]) == (exists, status)
    # Existing accounts are cached; a missing one may be created any minute.
    assert second["cached"] is exists
    assert sim.endpoint_requests["GET /validation/user/{email}"] == (1 if exists else 2)
    logged = SyncLog.objects.filter(action="validation.user").first()
    assert email not in logged.url


def test_it_refuses_a_malformed_email(api_client, simulator):
    simulator()

    response = api_client.get(f"{BASE}/user/not-an-email/")

    assert response.status_code == 400
    assert "email" in response.json()["error"]["details"]


def test_it_answers_503_while_symphonics_is_down(api_client, simulator, sleeps):
    sim = simulator()
    sim.faults.update({"error_rate": 1.0})

    response = api_client.get(f"{BASE}/pdl/12345678901234/")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "symphonics_unavailable"


def test_it_keeps_the_answer_on_the_intervention_for_the_admin(simulator):
    simulator()
    intervention = InterventionFactory(pdl="34567890123456")

    intervention_check_pdl(intervention=intervention)

    intervention.refresh_from_db()
    assert intervention.pdl_valid is True
    assert intervention.pdl_check_message == (
        "Valid: 17 Rue Victor Hugo, 59000 Lille (electromechanical meter)")
