"""The REST API under /api/symphonics/: create, list, detail, publish, add documents."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.core.models import OutboundOperation
from apps.symphonics.models import Intervention
from tests.symphonics.factories import (
    CONTRACT_PAYLOAD,
    PROOF,
    InterventionDocumentFactory,
    InterventionFactory,
    create_payload,
    iso_now,
)

pytestmark = pytest.mark.django_db

URL = "/api/symphonics/interventions/"


def test_it_creates_the_contract_example_as_is_and_publishes_it(
        api_client, simulator, django_capture_on_commit_callbacks):
    sim = simulator()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(URL, CONTRACT_PAYLOAD, format="json")

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["external_id"] == "int_12345678"
    assert created["status"] == "publishing"
    detail = api_client.get(f"{URL}{created['id']}/").json()
    assert detail["status"] == "created"
    assert detail["remote_status"] == "created"
    assert detail["symphonics_id"].startswith("sym_")
    assert [h["remote_status"] for h in detail["status_history"]] == ["created"]
    assert all(document["sent_at"] for document in detail["documents"])
    # Symphonics received exactly the contract's example, field for field.
    (remote,) = sim.lifecycle.interventions.values()
    assert remote.id == detail["symphonics_id"]
    assert remote.payload == CONTRACT_PAYLOAD


def test_it_shows_an_intervention_with_its_status_history_and_documents(api_client):
    intervention = InterventionFactory(published=True)
    document = intervention.documents.get(kind="attestation_honneur")
    document.verification_status = "rejected"
    document.remote_verification_status = "rejected"
    document.verification_notes = "Illegible"
    document.save()
    intervention.status_history.create(remote_status="processing", status="processing",
                                       source="webhook", occurred_at=intervention.published_at)

    body = api_client.get(f"{URL}{intervention.pk}/").json()

    assert body["status"] == "processing"
    assert body["symphonics_id"] == intervention.symphonics_id
    assert body["status_history"][0]["remote_status"] == "processing"
    assert {(d["type"], d["verification_status"]) for d in body["documents"]} == {
        ("invoice", "pending"), ("attestation_honneur", "rejected")}
    assert body["services"] == [{"code": "BAR-TH-173", "quantity": 1, "name": (
        "Système de régulation par programmation horaire pièce par pièce")}]
    assert body["photos"][0]["coordinates"] == {"latitude": 48.856614, "longitude": 2.352222}
    # Personal data is masked.
    assert body["customer"]["email"].endswith("@example.com")
    assert body["customer"]["email"] != intervention.customer_email
    assert body["customer"]["phone"].endswith("678") and "+336" not in body["customer"]["phone"]


def test_it_lists_and_filters_by_status_in_constant_queries(
        api_client, django_assert_max_num_queries):
    InterventionFactory.create_batch(2, published=True)
    approved = InterventionFactory(status="approved", remote_status="approved",
                                   symphonics_id="sym_approved")

    with django_assert_max_num_queries(12):
        everything = api_client.get(URL).json()
    InterventionFactory.create_batch(5, published=True)
    with django_assert_max_num_queries(12):
        filtered = api_client.get(URL, {"status": "approved"}).json()

    assert everything["count"] == 3
    assert [item["id"] for item in filtered["results"]] == [approved.pk]


def test_it_publishes_on_request_once(settings, api_client, simulator,
                                      django_capture_on_commit_callbacks):
    settings.SYMPHONICS_PUBLISH_ON_COMPLETION = False
    sim = simulator()
    created = api_client.post(URL, create_payload("int_manual"), format="json").json()
    assert created["status"] == "ready"

    with django_capture_on_commit_callbacks(execute=True):
        first = api_client.post(f"{URL}{created['id']}/publish/")
    with django_capture_on_commit_callbacks(execute=True):
        again = api_client.post(f"{URL}{created['id']}/publish/")

    assert first.status_code == 202
    assert again.status_code == 202
    assert again.json()["status"] == "created"
    assert sim.endpoint_requests["POST /crm/interventions"] == 1
    assert OutboundOperation.objects.filter(kind="symphonics.intervention.publish").count() == 1


def test_it_adds_documents_with_a_patch(api_client, simulator,
                                        django_capture_on_commit_callbacks):
    sim = simulator()
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post(URL, create_payload("int_proof"), format="json").json()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{URL}{created['id']}/add-documents/",
                                   {"documents": [PROOF]}, format="json")

    assert response.status_code == 202, response.content
    assert sim.endpoint_requests["PATCH /crm/interventions/{id}"] == 1
    (remote,) = sim.lifecycle.interventions.values()
    assert remote.has_document(PROOF["url"])
    proof = Intervention.objects.get(pk=created["id"]).documents.get(kind="additional_proof")
    assert proof.sent_at is not None


def test_it_keeps_documents_added_before_publication_for_the_create(settings, api_client):
    settings.SYMPHONICS_PUBLISH_ON_COMPLETION = False
    created = api_client.post(URL, create_payload("int_early"), format="json").json()

    response = api_client.post(f"{URL}{created['id']}/add-documents/",
                               {"documents": [PROOF]}, format="json")

    assert response.status_code == 202
    assert not OutboundOperation.objects.filter(kind="symphonics.intervention.add_documents")
    assert "additional_proof" in [d["type"] for d in response.json()["documents"]]


def test_it_refuses_documents_for_a_decided_intervention(api_client):
    intervention = InterventionFactory(status="approved", remote_status="approved",
                                       symphonics_id="sym_done")

    response = api_client.post(f"{URL}{intervention.pk}/add-documents/",
                               {"documents": [PROOF]}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "intervention_approved"


def test_it_refuses_an_empty_or_malformed_document_list(api_client):
    intervention = InterventionFactory(published=True)
    InterventionDocumentFactory(intervention=intervention, kind="contract")

    empty = api_client.post(f"{URL}{intervention.pk}/add-documents/", {"documents": []},
                            format="json")
    bad_url = api_client.post(f"{URL}{intervention.pk}/add-documents/",
                              {"documents": [{**PROOF, "url": "proof.pdf"}]}, format="json")

    assert empty.status_code == 400
    assert "documents" in empty.json()["error"]["details"]
    assert bad_url.status_code == 400
    assert "documents[0].url" in bad_url.json()["error"]["details"]


def test_it_answers_409_for_an_external_id_already_recorded(settings, api_client):
    settings.SYMPHONICS_PUBLISH_ON_COMPLETION = False
    api_client.post(URL, create_payload("int_twice"), format="json")

    response = api_client.post(URL, create_payload("int_twice"), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert Intervention.objects.count() == 1


def test_it_gives_an_external_id_when_none_is_sent(settings, api_client):
    settings.SYMPHONICS_PUBLISH_ON_COMPLETION = False
    body = create_payload()
    del body["external_id"]

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["external_id"].startswith("int_")


def test_it_is_for_managers_only(db):
    response = APIClient().get(URL)

    assert response.status_code in (401, 403)
    assert "error" in response.json()


# -- impossible and implausible times (a 400 naming the field, never a 500) -----------

IMPOSSIBLE_TIMES = {
    "minute-99": "2025-03-25T12:99:00Z",
    "30-february": "2024-02-30T11:30:00Z",
    "hour-25": "2025-03-25T25:00:00+01:00",
}


def _refused(response, field: str, text: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == "validation_error"
    assert field in error["details"], error["details"]
    assert any(text in message for message in error["details"][field]), error["details"]
    assert not Intervention.objects.exists()


@pytest.mark.parametrize("value", IMPOSSIBLE_TIMES.values(), ids=IMPOSSIBLE_TIMES.keys())
def test_it_refuses_an_impossible_completion_date(api_client, value):
    _refused(api_client.post(URL, create_payload(completion_date=value), format="json"),
             "completion_date", "does not exist")


@pytest.mark.parametrize("value", IMPOSSIBLE_TIMES.values(), ids=IMPOSSIBLE_TIMES.keys())
def test_it_refuses_an_impossible_photo_timestamp(api_client, value):
    body = create_payload()
    body["photos"][1]["timestamp"] = value
    _refused(api_client.post(URL, body, format="json"), "photos[1].timestamp", "does not exist")


@pytest.mark.parametrize(("value", "text"), [
    ("0033-03-25T11:30:00Z", "Too far in the past"),
    ("1999-12-31T23:59:59Z", "Too far in the past"),
    # A completed intervention has happened: a day of slack for device clocks.
    # Computed when the test runs, not when it is collected (a long run would
    # otherwise eat the margin).
    (lambda: iso_now(offset_seconds=86_400 + 3600), "Too far in the future"),
    ("2062-03-25T11:30:00Z", "Too far in the future"),
], ids=["year-0033", "before-2000", "over-a-day-ahead", "mistyped-year"])
def test_it_refuses_a_completion_date_outside_the_plausible_range(api_client, value, text):
    value = value() if callable(value) else value
    _refused(api_client.post(URL, create_payload(completion_date=value), format="json"),
             "completion_date", text)


def test_it_refuses_a_photo_taken_in_the_future(api_client):
    body = create_payload()
    body["photos"][0]["timestamp"] = iso_now(offset_seconds=2 * 86_400)
    _refused(api_client.post(URL, body, format="json"), "photos[0].timestamp",
             "Too far in the future")


def test_it_accepts_a_completion_within_a_day_of_now(settings, api_client):
    settings.SYMPHONICS_PUBLISH_ON_COMPLETION = False
    body = create_payload(completion_date=iso_now(offset_seconds=3_600))
    body["photos"][1]["timestamp"] = iso_now(offset_seconds=600)

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.content
