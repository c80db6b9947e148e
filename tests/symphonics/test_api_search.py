"""`?search=` on the interventions: by external id, customer's last name or city."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db


def _found(api_client, search: str) -> list[str]:
    response = api_client.get("/api/symphonics/interventions/", {"search": search})
    assert response.status_code == 200, response.content
    return [item["external_id"] for item in response.json()["results"]]


@pytest.fixture
def interventions():
    return (InterventionFactory(external_id="int_lyon_0001", customer_last_name="Durand",
                                city="Lyon"),
            InterventionFactory(external_id="int_paris_0002", customer_last_name="Martin",
                                city="Paris"))


def test_it_finds_an_intervention_by_external_id(api_client, interventions):
    assert _found(api_client, "lyon_0001") == ["int_lyon_0001"]


def test_it_finds_an_intervention_by_customer_last_name(api_client, interventions):
    assert _found(api_client, "durand") == ["int_lyon_0001"]


def test_it_finds_an_intervention_by_city(api_client, interventions):
    assert _found(api_client, "paris") == ["int_paris_0002"]


def test_it_does_not_search_the_encrypted_customer_email(api_client):
    intervention = InterventionFactory(customer_email="thomas.durand@example.com")

    assert intervention.customer_email == "thomas.durand@example.com"
    assert _found(api_client, "thomas.durand@example.com") == []


def test_it_documents_the_search_parameter():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    parameters = paths["/api/symphonics/interventions/"]["get"]["parameters"]

    search = next(p for p in parameters if p["name"] == "search")
    assert search["in"] == "query"
