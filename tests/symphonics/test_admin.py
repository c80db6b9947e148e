"""The managers' back-office for Symphonics interventions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.models import OutboundOperation, SyncLog
from apps.symphonics.models import Intervention
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:symphonics_intervention_changelist")



def _action(client, action: str, interventions, **extra):
    return client.post(CHANGELIST, {
        "action": action, ACTION_CHECKBOX_NAME: [i.pk for i in interventions], **extra},
        follow=True)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHANGELIST).status_code == 200
    return len(queries)


def test_it_lists_interventions_in_a_constant_number_of_queries(manager_client):
    InterventionFactory.create_batch(2, published=True)
    few = _queries(manager_client)
    InterventionFactory.create_batch(8, published=True)

    assert _queries(manager_client) == few


def test_it_shows_document_verification_in_the_list(manager_client):
    intervention = InterventionFactory(published=True)
    intervention.documents.filter(kind="invoice").update(verification_status="verified")
    intervention.documents.filter(kind="attestation_honneur").update(
        verification_status="rejected")

    page = manager_client.get(CHANGELIST).content.decode()

    assert "1 / 2 verified" in page
    assert "1 rejected" in page


def test_it_shows_what_was_sent_and_received(manager_client, simulator,
                                               django_capture_on_commit_callbacks):
    simulator()
    intervention = InterventionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _action(manager_client, "publish", [intervention])

    page = manager_client.get(reverse("admin:symphonics_intervention_change",
                                      args=[intervention.pk])).content.decode()

    create = SyncLog.objects.get(action="intervention.create")
    assert reverse("admin:core_synclog_change", args=[create.pk]) in page
    assert create.remote_request_id in page
    assert f"entity_id={intervention.external_id}" in page
    assert "status history (as symphonics reported it)" in page.lower()
    synclogs = manager_client.get(reverse("admin:core_synclog_changelist"), {
        "entity_type": "symphonics.intervention", "entity_id": intervention.external_id})
    assert synclogs.status_code == 200


def test_it_previews_the_payload_before_publication(manager_client):
    intervention = InterventionFactory(external_id="int_preview")

    page = manager_client.get(reverse("admin:symphonics_intervention_change",
                                      args=[intervention.pk])).content.decode()

    assert "payload to be sent" in page.lower()
    assert "&quot;external_id&quot;: &quot;int_preview&quot;" in page


def test_it_publishes_from_the_admin(manager_client, simulator,
                                       django_capture_on_commit_callbacks):
    sim = simulator()
    intervention = InterventionFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = _action(manager_client, "publish", [intervention])

    assert "1 intervention(s) published or on their way." in _messages(response)
    intervention.refresh_from_db()
    assert intervention.status == Intervention.Status.CREATED
    assert len(sim.lifecycle.interventions) == 1


def test_it_tells_the_manager_why_an_intervention_cannot_be_published(manager_client):
    intervention = InterventionFactory()
    intervention.photos.filter(kind="after").update(latitude=None, longitude=None)

    response = _action(manager_client, "publish", [intervention])

    (message,) = _messages(response)
    assert "photos[1].coordinates: The photo needs its GPS coordinates." in message
    assert not OutboundOperation.objects.exists()


def test_it_refreshes_the_status_from_the_admin(manager_client, simulator,
                                                  django_capture_on_commit_callbacks):
    sim = simulator(processing_delay_seconds=1, verification_delay_seconds=1)
    intervention = InterventionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _action(manager_client, "publish", [intervention])
    sim.advance(30)

    response = _action(manager_client, "refresh_status", [intervention])

    assert "1 status(es) refreshed." in _messages(response)
    intervention.refresh_from_db()
    assert intervention.status == Intervention.Status.APPROVED


def test_it_validates_the_pdl_from_the_admin(manager_client, simulator):
    simulator()
    valid = InterventionFactory()
    invalid = InterventionFactory(pdl="45678901234567")

    response = _action(manager_client, "validate_pdl", [valid, invalid])

    text = " ".join(_messages(response))
    assert "Valid: 123 Rue de Paris, 75001 Paris (electronic meter)" in text
    assert "Not valid: Invalid PDL — PDL is not a valid delivery point" in text
    invalid.refresh_from_db()
    assert invalid.pdl_valid is False


def test_it_adds_a_proof_from_the_admin(manager_client, simulator,
                                          django_capture_on_commit_callbacks):
    sim = simulator()
    intervention = InterventionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _action(manager_client, "publish", [intervention])

    form = _action(manager_client, "add_proof", [intervention])
    with django_capture_on_commit_callbacks(execute=True):
        done = _action(manager_client, "add_proof", [intervention], apply="1",
                         kind="additional_proof", name="Preuve supplémentaire",
                         url="https://docs.example.com/proof.pdf")

    assert "Add a proof document" in form.content.decode()
    assert any("it is sent to Symphonics" in message for message in _messages(done))
    (remote,) = sim.lifecycle.interventions.values()
    assert remote.has_document("https://docs.example.com/proof.pdf")


def test_it_keeps_a_published_intervention_read_only(manager_client):
    intervention = InterventionFactory(published=True)

    page = manager_client.get(reverse("admin:symphonics_intervention_change",
                                      args=[intervention.pk])).content.decode()

    assert 'name="pdl"' not in page
    assert 'name="documents-0-url"' not in page
