"""The Symphonics API refuses what it would otherwise ignore, says every error at once
and answers a decided intervention's refusals with 409 and the state's code."""

from __future__ import annotations

import pytest

from apps.core.models import OutboundOperation
from apps.symphonics.models import Intervention, InterventionDocument
from tests.symphonics.factories import PROOF, InterventionFactory, create_payload

pytestmark = pytest.mark.django_db

URL = "/api/symphonics/interventions/"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


@pytest.fixture(autouse=True)
def _no_publication(settings):
    settings.SYMPHONICS_PUBLISH_ON_COMPLETION = False


def test_it_refuses_an_unknown_field_at_any_depth(api_client):
    body = create_payload("int_strict_1", colour="red")
    body["customer"] = {**body["customer"], "nickname": "Tom"}
    body["photos"][1] = {**body["photos"][1], "angle": 30}
    error = assert_error(api_client.post(URL, body, format="json"), 400, "unknown_field")
    assert set(error["details"]) == {"colour", "customer.nickname", "photos[1].angle"}
    assert not Intervention.objects.exists()


def test_it_refuses_a_status_on_create_as_read_only(api_client):
    body = create_payload("int_strict_2", status="approved", symphonics_id="sym_1")
    error = assert_error(api_client.post(URL, body, format="json"), 400, "read_only_field")
    assert set(error["details"]) == {"status", "symphonics_id"}
    assert not Intervention.objects.exists()


def test_it_reports_unknown_and_invalid_fields_in_one_answer(api_client):
    body = create_payload("int_strict_3", colour="red")
    body["installation"] = {**body["installation"], "postal_code": ""}
    error = assert_error(api_client.post(URL, body, format="json"), 400, "validation_error")
    assert set(error["details"]) == {"colour", "installation.postal_code"}


def test_it_refuses_a_body_on_publish_and_unknown_query_parameters(api_client):
    intervention = InterventionFactory()
    publish = assert_error(api_client.post(f"{URL}{intervention.pk}/publish/", {"now": True},
                                           format="json"), 400, "unknown_field")
    assert list(publish["details"]) == ["now"]
    listed = assert_error(api_client.get(URL, {"colour": "red"}), 400,
                          "unknown_query_parameter")
    assert list(listed["details"]) == ["colour"]
    checked = assert_error(api_client.get("/api/symphonics/validate/pdl/12345678901234/",
                                          {"force": 1}), 400, "unknown_query_parameter")
    assert list(checked["details"]) == ["force"]
    assert not OutboundOperation.objects.exists()


def test_it_takes_the_filters_it_offers(api_client):
    intervention = InterventionFactory()
    response = api_client.get(URL, {"status": intervention.status, "page_size": 5})
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [intervention.pk]


@pytest.mark.parametrize("status", ["approved", "rejected"])
def test_it_refuses_to_publish_a_decided_intervention(api_client, status):
    intervention = InterventionFactory(status=status, remote_status=status,
                                       symphonics_id="sym_done")
    error = assert_error(api_client.post(f"{URL}{intervention.pk}/publish/"), 409,
                         f"intervention_{status}")
    assert error["details"] == {"status": [status]}
    assert not OutboundOperation.objects.exists()


def test_it_refuses_documents_for_a_rejected_intervention_with_409(api_client):
    intervention = InterventionFactory(status="rejected", remote_status="rejected",
                                       symphonics_id="sym_done")
    before = InterventionDocument.objects.count()
    assert_error(api_client.post(f"{URL}{intervention.pk}/add-documents/",
                                 {"documents": [PROOF]}, format="json"), 409,
                 "intervention_rejected")
    assert InterventionDocument.objects.count() == before
