"""Symphonics in the attention queue: raised by what Symphonics says, cleared by what answers it."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.core.attention_selectors import attention_open_for
from apps.core.http import ErrorInfo, PermanentError
from apps.core.models import AttentionItem
from apps.symphonics import services
from apps.symphonics.mapping import DocumentEvent, StatusEvent
from tests.symphonics.factories import InterventionFactory


def status_event(intervention, new: str, notes: str = "", *, minutes: int = 0) -> StatusEvent:
    return StatusEvent(symphonics_id=intervention.symphonics_id,
                       external_id=intervention.external_id, previous_status="processing",
                       new_status=new, notes=notes,
                       at=timezone.now() + timedelta(minutes=minutes))


@pytest.mark.django_db
def test_it_raises_a_refused_publication_and_clears_it_when_published_again():
    intervention = InterventionFactory()
    refusal = PermanentError("422", platform="symphonics", status_code=422,
                             error=ErrorInfo(message="PDL is not a valid delivery point"))

    services.intervention_publication_refused(intervention=intervention, error=refusal)
    item = AttentionItem.objects.open().get()
    assert (item.domain, item.kind, item.subject) == (
        "symphonics", "symphonics.publish_failed", intervention)
    assert "PDL is not a valid delivery point" in item.summary
    assert "publish it again" in item.action_hint

    services.intervention_publish(intervention=intervention)
    assert attention_open_for(intervention) == {}


@pytest.mark.django_db
def test_a_later_status_replaces_what_an_earlier_one_asked_for():
    intervention = InterventionFactory(published=True)

    services.intervention_status_receive(event=status_event(intervention, "pending_documents",
                                                            "Proof required", minutes=1))
    services.document_verification_receive(event=DocumentEvent(
        symphonics_id=intervention.symphonics_id, external_id=intervention.external_id,
        document_kind="invoice", verification_status="rejected", notes="Illegible",
        at=timezone.now() + timedelta(minutes=1)))
    assert set(attention_open_for(intervention)) == {"symphonics.proof_required",
                                                     "symphonics.document_rejected"}

    services.intervention_status_receive(event=status_event(intervention, "rejected",
                                                            "Fraud", minutes=2))
    assert set(attention_open_for(intervention)) == {"symphonics.rejected",
                                                     "symphonics.document_rejected"}


@pytest.mark.django_db
def test_added_proof_and_an_approval_clear_the_items():
    asked, approved = InterventionFactory(published=True), InterventionFactory(published=True)
    for intervention in (asked, approved):
        services.intervention_status_receive(event=status_event(
            intervention, "pending_documents", "Proof required", minutes=1))

    services.intervention_add_documents(intervention=asked, documents=[{
        "kind": "additional_proof", "name": "Preuve", "url": "https://files.test/p.pdf"}])
    services.intervention_status_receive(event=status_event(approved, "approved", minutes=2))

    assert attention_open_for(asked) == {}
    assert attention_open_for(approved) == {}


@pytest.mark.django_db
def test_it_says_in_the_api_and_the_admin_whether_an_intervention_needs_attention(
        api_client, manager_client):
    flagged, calm = InterventionFactory(published=True), InterventionFactory(published=True)
    services.intervention_status_receive(event=status_event(flagged, "rejected", "Fraud",
                                                            minutes=1))

    detail = api_client.get(f"/api/symphonics/interventions/{flagged.pk}/").json()
    listed = api_client.get("/api/symphonics/interventions/",
                            {"needs_attention": "false"}).json()
    page = manager_client.get("/admin/symphonics/intervention/", {"needs_attention": "1"})

    assert (detail["needs_attention"], detail["attention_reason"]) == (
        True, "Rejected by Symphonics: Fraud")
    assert [i["id"] for i in listed["results"]] == [calm.pk]
    assert [i.pk for i in page.context["cl"].result_list] == [flagged.pk]
    assert "⚠ Rejected by Symphonics: Fraud" in page.content.decode()


MIGRATION = "0004_symphonics_attention_items"


def test_it_names_the_kind_of_an_old_reason():
    migration = importlib.import_module(f"apps.symphonics.migrations.{MIGRATION}")
    expected = {
        "Publication refused by Symphonics: bad PDL": "symphonics.publish_failed",
        "Symphonics asks for additional proof: x": "symphonics.proof_required",
        "Rejected by Symphonics: Fraud": "symphonics.rejected",
        "Invoice rejected by Symphonics: Illegible": "symphonics.document_rejected",
        "Unknown Symphonics status 'frozen'; check it with them.": "symphonics.unknown_status",
        "Documents refused by Symphonics: bad url": "symphonics.documents_refused",
        "Symphonics no longer knows sym_1 (the sandbox…)": "symphonics.unknown_remote",
    }
    assert {reason: migration.kind_for_reason(reason) for reason in expected} == expected


@pytest.mark.django_db(transaction=True)
def test_it_moves_a_flagged_intervention_into_the_queue_when_migrating():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    (before,) = [parent for parent in executor.loader.graph.node_map[("symphonics", MIGRATION)]
                 .parents if parent.key[0] == "symphonics"]
    executor.migrate([before.key])
    try:
        old = executor.loader.project_state([before.key]).apps
        interventions = old.get_model("symphonics", "Intervention").objects
        fields = {"customer_first_name": "Thomas", "customer_last_name": "Martin",
                  "customer_email": "t@example.com", "customer_phone": "+33612345678",
                  "address": "1 Rue", "postal_code": "75015", "city": "Paris",
                  "pdl": "12345678901234", "installer_user_id": "usr_1",
                  "installer_name": "Jean", "completion_date": timezone.now()}
        flagged = interventions.create(
            external_id="int_flagged", needs_attention=True,
            attention_reason="Symphonics asks for additional proof: scan", **fields)
        interventions.create(external_id="int_calm", **fields)

        MigrationExecutor(connection).migrate(latest)

        item = AttentionItem.objects.get()
        assert (item.domain, item.kind, item.object_id) == (
            "symphonics", "symphonics.proof_required", str(flagged.pk))
        assert item.summary == "Symphonics asks for additional proof: scan"
        assert item.cleared_at is None
    finally:
        MigrationExecutor(connection).migrate(latest)
