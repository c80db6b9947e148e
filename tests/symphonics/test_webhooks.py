"""Signed webhooks at /api/webhooks/symphonics/, through the core inbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.attention import attention_raise
from apps.core.attention_selectors import attention_open_for
from apps.core.models import WebhookEvent
from apps.core.webhooks import webhooks_purge
from apps.symphonics.models import Intervention, InterventionDocument
from apps.symphonics.simulator import sign
from tests.symphonics.factories import InterventionDocumentFactory, InterventionFactory, iso_now

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/symphonics/"
Status = Intervention.Status


@pytest.fixture
def deliver(client, settings, django_capture_on_commit_callbacks):
    sequence = iter(range(1, 10_000))

    def deliver(event: str, data: dict, *, timestamp: str | None = None,
                event_id: str | None = None, secret: str | None = None):
        body = json.dumps({"event": event, "timestamp": timestamp or iso_now(),
                           "data": data}).encode()
        headers = {
            "HTTP_X_SYMPHONICS_SIGNATURE": sign(body, secret or settings.SYMPHONICS_WEBHOOK_SECRET),
            "HTTP_X_SYMPHONICS_EVENT_ID": event_id or f"evt_{next(sequence):024x}",
        }
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, body, content_type="application/json", **headers)

    return deliver


def status_update(intervention: Intervention, previous: str, new: str,
                  notes: str = "") -> dict:
    return {"intervention_id": intervention.symphonics_id,
            "external_id": intervention.external_id,
            "previous_status": previous, "new_status": new, "notes": notes}


def verification(intervention: Intervention, kind: str, status: str, notes: str = "") -> dict:
    return {"intervention_id": intervention.symphonics_id,
            "external_id": intervention.external_id, "document_type": kind,
            "verification_status": status, "notes": notes}


def test_it_applies_a_status_update(deliver):
    intervention = InterventionFactory(published=True)
    attention_raise(domain="symphonics", kind="symphonics.proof_required",
                    summary="a document was rejected", subject=intervention)

    response = deliver("intervention.status_update",
                       status_update(intervention, "processing", "approved",
                                     "All documents verified successfully"))

    assert response.status_code == 202
    intervention.refresh_from_db()
    assert intervention.status == Status.APPROVED
    assert intervention.remote_status == "approved"
    assert attention_open_for(intervention) == {}
    change = intervention.status_history.get()
    assert (change.remote_status, change.previous_remote_status, change.source) == (
        "approved", "processing", "webhook")
    assert change.notes == "All documents verified successfully"
    assert change.webhook_event.status == WebhookEvent.Status.PROCESSED


def test_it_never_lets_an_older_event_overwrite_a_newer_status(deliver):
    intervention = InterventionFactory(published=True)
    deliver("intervention.status_update", status_update(intervention, "processing", "approved"))

    # A retried delivery of an earlier change arrives late.
    deliver("intervention.status_update", status_update(intervention, "created", "processing"),
            timestamp=iso_now(-60))

    intervention.refresh_from_db()
    assert intervention.status == Status.APPROVED
    late = intervention.status_history.get(remote_status="processing")
    assert late.applied is False
    assert [c.remote_status for c in intervention.status_history.all()] == ["processing",
                                                                            "approved"]


def test_it_orders_changes_stamped_with_the_same_second(deliver):
    intervention = InterventionFactory(published=True, status=Status.CREATED,
                                       remote_status="created")
    second = iso_now()

    deliver("intervention.status_update",
            status_update(intervention, "processing", "pending_documents"), timestamp=second)
    deliver("intervention.status_update",
            status_update(intervention, "created", "processing"), timestamp=second)

    intervention.refresh_from_db()
    assert intervention.status == Status.PROOF_REQUIRED


def test_it_asks_the_manager_for_proof_when_a_document_is_rejected(deliver):
    intervention = InterventionFactory(published=True)

    deliver("document.verification", verification(intervention, "attestation_honneur",
                                                  "rejected", "Illegible scan"))
    deliver("intervention.status_update",
            status_update(intervention, "processing", "pending_documents",
                          "Additional proof required: a document was rejected"))

    intervention.refresh_from_db()
    document = intervention.documents.get(kind="attestation_honneur")
    assert document.verification_status == InterventionDocument.Verification.REJECTED
    assert document.remote_verification_status == "rejected"
    assert document.verification_notes == "Illegible scan"
    assert intervention.status == Status.PROOF_REQUIRED
    open_items = attention_open_for(intervention)
    assert "Additional proof required" in open_items["symphonics.proof_required"]
    assert "Illegible scan" in open_items["symphonics.document_rejected"]


def test_it_applies_a_verification_to_the_oldest_waiting_document_of_that_type(deliver):
    intervention = InterventionFactory(published=True)
    first = intervention.documents.get(kind="attestation_honneur")
    first.verification_status, first.verified_at = "rejected", timezone.now()
    first.save()
    corrected = InterventionDocumentFactory(intervention=intervention,
                                            kind="attestation_honneur", sent_at=timezone.now(),
                                            url="https://docs.example.com/ah-v2.pdf")

    deliver("document.verification", verification(intervention, "attestation_honneur",
                                                  "verified"))

    first.refresh_from_db()
    corrected.refresh_from_db()
    assert first.verification_status == "rejected"
    assert corrected.verification_status == "verified"


def test_it_keeps_the_newer_verification_of_a_document(deliver):
    intervention = InterventionFactory(published=True)
    deliver("document.verification", verification(intervention, "invoice", "verified"))

    deliver("document.verification", verification(intervention, "invoice", "rejected"),
            timestamp=iso_now(-120))

    assert intervention.documents.get(kind="invoice").verification_status == "verified"


def test_it_learns_the_symphonics_id_from_a_webhook_faster_than_the_create_answer(deliver):
    intervention = InterventionFactory(status=Status.PUBLISHING)

    deliver("intervention.status_update", {
        "intervention_id": "sym_00000042", "external_id": intervention.external_id,
        "previous_status": "created", "new_status": "processing"})

    intervention.refresh_from_db()
    assert intervention.symphonics_id == "sym_00000042"
    assert intervention.status == Status.PROCESSING


def test_it_rejects_a_bad_signature_and_stores_it(deliver):
    intervention = InterventionFactory(published=True)

    response = deliver("intervention.status_update",
                       status_update(intervention, "processing", "approved"),
                       secret="not-the-secret")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED
    assert event.signature_valid is False
    intervention.refresh_from_db()
    assert intervention.status == Status.PROCESSING


def test_it_rejects_a_stale_timestamp(deliver):
    intervention = InterventionFactory(published=True)

    response = deliver("intervention.status_update",
                       status_update(intervention, "processing", "approved"),
                       timestamp=iso_now(-6 * 60))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REJECTED
    intervention.refresh_from_db()
    assert intervention.status == Status.PROCESSING


def test_it_applies_a_duplicate_delivery_once(deliver):
    intervention = InterventionFactory(published=True)
    data = status_update(intervention, "processing", "approved")
    timestamp = iso_now()

    first = deliver("intervention.status_update", data, timestamp=timestamp, event_id="evt_1")
    again = deliver("intervention.status_update", data, timestamp=timestamp, event_id="evt_1")

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert intervention.status_history.count() == 1
    assert sorted(WebhookEvent.objects.values_list("status", flat=True)) == [
        "duplicate", "processed"]


def test_it_stores_and_ignores_unknown_events(deliver):
    intervention = InterventionFactory(published=True)

    response = deliver("intervention.archived", {"external_id": intervention.external_id})

    assert response.status_code == 202
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED
    intervention.refresh_from_db()
    assert intervention.status == Status.PROCESSING


def test_it_ignores_events_about_interventions_it_does_not_know(deliver):
    deliver("intervention.status_update", {
        "intervention_id": "sym_99999999", "external_id": "int_elsewhere",
        "previous_status": "processing", "new_status": "approved"})

    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED


def test_it_marks_an_unreadable_event_failed_for_a_replay(deliver):
    deliver("intervention.status_update", {"external_id": "int_x"})

    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "new_status" in event.error


def test_it_only_takes_posts(client):
    response = client.get(URL)

    assert response.status_code == 405


def test_it_applies_a_delivery_replayed_with_a_new_event_id_once(deliver):
    intervention = InterventionFactory(published=True)
    data = status_update(intervention, "processing", "approved")
    timestamp = iso_now()

    first = deliver("intervention.status_update", data, timestamp=timestamp, event_id="evt_1")
    replayed = deliver("intervention.status_update", data, timestamp=timestamp,
                       event_id="evt_forged")

    assert first.status_code == 202
    assert replayed.status_code == 200
    assert replayed.json() == {"status": "duplicate", "event_id": "evt_forged"}
    assert intervention.status_history.count() == 1


def test_it_keeps_the_status_history_when_old_events_are_purged(deliver, settings):
    intervention = InterventionFactory(published=True)
    deliver("intervention.status_update", status_update(intervention, "processing", "approved"))
    long_ago = timezone.now() - timedelta(days=settings.WEBHOOK_PROCESSED_RETENTION_DAYS + 1)
    WebhookEvent.objects.update(received_at=long_ago)

    assert webhooks_purge()["processed"] == 1

    change = intervention.status_history.get()
    assert change.webhook_event is None
    assert change.remote_status == "approved"


# -- one channel per connection -------------------------------------------------

def _post_signed(client, url: str, body: bytes, secret: str, event_id: str):
    return client.post(url, body, content_type="application/json",
                       HTTP_X_SYMPHONICS_SIGNATURE=sign(body, secret),
                       HTTP_X_SYMPHONICS_EVENT_ID=event_id)


def _status_body(intervention: Intervention) -> bytes:
    return json.dumps({"event": "intervention.status_update", "timestamp": iso_now(),
                       "data": status_update(intervention, "processing", "approved")}).encode()


def test_the_old_url_is_the_default_connections_channel(client, settings):
    from apps.core.connections import connection_default

    default = connection_default(platform="symphonics")
    body = _status_body(InterventionFactory(published=True))

    response = _post_signed(client, URL, body, settings.SYMPHONICS_WEBHOOK_SECRET, "evt_old")

    assert response.status_code == 202
    assert WebhookEvent.objects.get().connection == default


def test_the_default_connection_answers_at_both_urls_as_one_inbox(client, settings):
    from apps.core.connections import connection_default

    default = connection_default(platform="symphonics")
    body = _status_body(InterventionFactory(published=True))
    secret = settings.SYMPHONICS_WEBHOOK_SECRET

    first = _post_signed(client, f"/api/webhooks/symphonics/{default.pk}/", body, secret, "evt_a")
    again = _post_signed(client, URL, body, secret, "evt_a")

    assert (first.status_code, again.status_code) == (202, 200)
    assert WebhookEvent.objects.get(status=WebhookEvent.Status.ACCEPTED).connection == default


def test_a_second_symphonics_account_is_verified_with_its_own_secret(client, settings):
    from apps.core.models import Connection, Credentials

    second = Connection(platform="symphonics", name="Second client")
    second.set_credentials(Credentials(webhook_secret="second-client-secret"))
    second.save()
    url = f"/api/webhooks/symphonics/{second.pk}/"
    body = _status_body(InterventionFactory(published=True))

    refused = _post_signed(client, url, body, settings.SYMPHONICS_WEBHOOK_SECRET, "evt_2")
    accepted = _post_signed(client, url, body, "second-client-secret", "evt_3")

    assert (refused.status_code, accepted.status_code) == (401, 202)
    assert WebhookEvent.objects.get(event_id="evt_3").connection == second
