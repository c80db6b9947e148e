"""Publishing through the outbox: once per external id, whatever goes wrong."""

from __future__ import annotations

import pytest
import requests

from apps.core.attention_selectors import attention_open_for
from apps.core.audit import LogContext
from apps.core.breaker import OPEN, CircuitBreaker
from apps.core.models import OutboundOperation, SyncLog
from apps.core.store import LocalStore
from apps.symphonics import services
from apps.symphonics.client import PLATFORM, symphonics_client
from apps.symphonics.models import Intervention
from apps.symphonics.services import DOCUMENTS_OPERATION, PUBLISH_OPERATION
from tests.symphonics.factories import PROOF, InterventionFactory, create_payload
from tests.symphonics.helpers import run_again, wait_until

pytestmark = pytest.mark.django_db
State = OutboundOperation.State


def creates(sim) -> int:
    return sum(1 for _, method, path in sim.requests
               if method == "POST" and path == "/crm/interventions")


def test_it_publishes_once_keyed_by_the_external_id(simulator, publish):
    sim = simulator()
    intervention = InterventionFactory()

    operation = publish(intervention)
    publish(intervention)

    assert operation.idempotency_key == f"symphonics:publish:{intervention.external_id}"
    assert operation.state == State.SUCCEEDED
    assert operation.entity_id == intervention.external_id
    assert intervention.status == Intervention.Status.CREATED
    assert intervention.symphonics_id == operation.result["symphonics_id"]
    assert creates(sim) == 1
    assert OutboundOperation.objects.filter(kind=PUBLISH_OPERATION).count() == 1
    sent = SyncLog.objects.get(action="intervention.create")
    assert sent.operation_id == operation.pk
    assert sent.entity_id == intervention.external_id
    # Personal data never reaches the audit trail.
    assert intervention.customer_email not in sent.request_body
    assert intervention.customer_phone not in sent.request_body


def test_it_adopts_the_intervention_on_409_instead_of_creating_it_again(simulator, publish):
    sim = simulator()
    intervention = InterventionFactory(external_id="int_already_there")
    # An earlier create reached Symphonics; its answer never reached us.
    token = requests.post(f"{sim.base_url}/auth/token", timeout=5, data={
        "grant_type": "client_credentials", "client_id": sim.client_id,
        "client_secret": sim.client_secret}).json()["access_token"]
    earlier = requests.post(f"{sim.base_url}/crm/interventions", timeout=5,
                            json=create_payload("int_already_there"),
                            headers={"Authorization": f"Bearer {token}"}).json()

    operation = publish(intervention)

    assert operation.state == State.SUCCEEDED
    assert operation.result == {"symphonics_id": earlier["id"], "adopted": True}
    assert intervention.symphonics_id == earlier["id"]
    assert len(sim.lifecycle.interventions) == 1
    assert SyncLog.objects.get(action="intervention.create").status == SyncLog.Status.CONFLICT
    assert "409 CONFLICT" in intervention.status_history.get().notes
    # That earlier create carried other files than ours now: ours follow in an update.
    (remote,) = sim.lifecycle.interventions.values()
    assert all(remote.has_document(document.url) and document.sent_at
               for document in intervention.documents.all())
    assert OutboundOperation.objects.get(kind=DOCUMENTS_OPERATION).state == State.SUCCEEDED


def test_it_reconciles_a_create_that_timed_out_and_never_creates_twice(
        settings, simulator, publish):
    settings.SYMPHONICS_READ_TIMEOUT_SECONDS = 0.3
    sim = simulator()
    symphonics_client().validate_user("test.user@example.com",
                                      log=LogContext(action="warm-up"))
    # Symphonics takes 0.8 s to answer, so the hub stops waiting after sending.
    sim.faults.update({"hang_seconds": 0.8, "hang_rate": 1.0})
    intervention = InterventionFactory()

    operation = publish(intervention)

    assert operation.state == State.UNKNOWN
    assert operation.needs_reconcile
    assert intervention.status == Intervention.Status.PUBLISHING
    assert "ReadTimeout" in intervention.last_error
    wait_until(lambda: len(sim.lifecycle.interventions) == 1)  # it went through after all
    sim.faults.update({"hang_seconds": 0.0, "hang_rate": 0.0})

    operation = run_again(operation)

    intervention.refresh_from_db()
    assert operation.state == State.SUCCEEDED
    assert operation.result["adopted"] is True
    assert creates(sim) == 1
    assert len(sim.lifecycle.interventions) == 1
    assert intervention.symphonics_id == next(iter(sim.lifecycle.interventions))
    assert intervention.last_error == ""
    assert SyncLog.objects.filter(action="intervention.reconcile").count() == 1


def test_it_sends_after_reconciling_when_symphonics_has_nothing(simulator):
    sim = simulator()
    intervention = InterventionFactory(status=Intervention.Status.PUBLISHING)
    operation = OutboundOperation.objects.create(
        platform=PLATFORM, kind=PUBLISH_OPERATION, state=State.UNKNOWN, needs_reconcile=True,
        idempotency_key=f"symphonics:publish:{intervention.external_id}",
        payload={"intervention_id": intervention.pk})

    operation = run_again(operation)

    assert operation.state == State.SUCCEEDED
    assert "adopted" not in operation.result
    assert creates(sim) == 1
    assert SyncLog.objects.filter(action="intervention.reconcile").count() == 1


def test_it_flags_a_refused_publication_and_sends_it_again_once_corrected(simulator, publish):
    sim = simulator()
    # Well formed, so accepted locally; Symphonics' sandbox refuses this delivery point.
    intervention = InterventionFactory(pdl="45678901234567")

    operation = publish(intervention)

    assert operation.state == State.DEAD
    assert intervention.status == Intervention.Status.PUBLISH_FAILED
    assert "symphonics.publish_failed" in attention_open_for(intervention)
    assert "installation.pdl: PDL is not a valid delivery point" in intervention.last_error
    Intervention.objects.filter(pk=intervention.pk).update(pdl="12345678901234")

    operation = publish(intervention)

    assert operation.state == State.SUCCEEDED
    assert intervention.status == Intervention.Status.CREATED
    assert attention_open_for(intervention) == {}
    assert creates(sim) == 2
    assert len(sim.lifecycle.interventions) == 1


def test_it_retries_5xx_then_gives_up_after_five_failed_runs(simulator, publish, sleeps):
    sim = simulator()
    symphonics_client().validate_user("test.user@example.com",
                                      log=LogContext(action="warm-up"))
    sim.faults.update({"error_rate": 1.0})
    intervention = InterventionFactory()

    operation = publish(intervention)
    assert operation.state == State.FAILED
    for _ in range(4):
        operation = run_again(operation)

    assert operation.state == State.DEAD
    assert operation.failures == 5
    assert "gave up after 5 failures" in operation.last_error
    # The first run retried 5 times, then the open circuit kept the others off Symphonics.
    assert creates(sim) == 6
    assert len(sleeps) == 5
    intervention.refresh_from_db()
    assert intervention.status == Intervention.Status.PUBLISHING
    assert "503" in intervention.last_error or "circuit" in intervention.last_error


def test_it_keeps_publications_off_symphonics_during_an_outage_then_sends_them(
        simulator, publish, sleeps):
    sim = simulator()
    client = symphonics_client()
    client.validate_user("test.user@example.com", log=LogContext(action="warm-up"))
    # The breaker's clock is the test's, so the cool-down passes at once.
    clock = [1_750_000_000.0]
    client.http.breaker = CircuitBreaker(PLATFORM, client.http.platform.breaker,
                                         store=LocalStore(clock=lambda: clock[0]))
    sim.faults.update({"error_rate": 1.0})
    first, second = InterventionFactory(), InterventionFactory()

    first_operation = publish(first)
    requests_seen = sim.request_count
    second_operation = publish(second)

    assert client.http.breaker.snapshot()["state"] == OPEN
    assert sim.request_count == requests_seen  # the second never reached Symphonics
    assert second_operation.state == State.FAILED
    # Its next run waits for the end of the cool-down.
    wait = (second_operation.next_attempt_at - second_operation.updated_at).total_seconds()
    assert wait >= client.http.platform.breaker.cooldown_seconds - 1
    sim.faults.update({"error_rate": 0.0})
    clock[0] += client.http.platform.breaker.cooldown_seconds

    for operation in (first_operation, second_operation):
        assert run_again(operation).state == State.SUCCEEDED
    assert client.http.breaker.snapshot()["state"] == "closed"
    assert len(sim.lifecycle.interventions) == 2


def test_it_sends_proof_with_a_patch_and_not_twice_after_a_lost_answer(
        settings, simulator, publish, django_capture_on_commit_callbacks):
    sim = simulator()
    intervention = InterventionFactory()
    publish(intervention)
    settings.SYMPHONICS_READ_TIMEOUT_SECONDS = 0.3
    sim.faults.update({"hang_seconds": 0.8, "hang_rate": 1.0})

    with django_capture_on_commit_callbacks(execute=True):
        (proof,) = services.intervention_add_documents(
            intervention=intervention, documents=[{"kind": PROOF["type"], "name": PROOF["name"],
                                                   "url": PROOF["url"]}])
    operation = OutboundOperation.objects.get(kind=DOCUMENTS_OPERATION)
    assert operation.state == State.UNKNOWN
    (remote,) = sim.lifecycle.interventions.values()
    wait_until(lambda: remote.has_document(PROOF["url"]))
    sim.faults.update({"hang_seconds": 0.0, "hang_rate": 0.0})

    operation = run_again(operation)

    proof.refresh_from_db()
    assert operation.state == State.SUCCEEDED
    assert operation.result["note"] == "Symphonics had them already"
    assert proof.sent_at is not None
    patches = [path for _, method, path in sim.requests if method == "PATCH"]
    assert len(patches) == 1


def test_it_holds_documents_until_symphonics_has_the_intervention(
        django_capture_on_commit_callbacks):
    intervention = InterventionFactory(status=Intervention.Status.PUBLISHING)
    # The create is on its way (its operation exists but has not answered yet).
    intervention.publish_operation = OutboundOperation.objects.create(
        platform=PLATFORM, kind=PUBLISH_OPERATION, state=State.IN_FLIGHT,
        idempotency_key=f"symphonics:publish:{intervention.external_id}",
        payload={"intervention_id": intervention.pk})
    intervention.save()

    with django_capture_on_commit_callbacks(execute=True):
        services.intervention_add_documents(intervention=intervention, documents=[
            {"kind": "additional_proof", "name": "Proof", "url": "https://docs.example.com/p"}])

    operation = OutboundOperation.objects.get(kind=DOCUMENTS_OPERATION)
    assert operation.state == State.PENDING
    assert "waiting for Symphonics" in operation.last_error
    assert not SyncLog.objects.exists()
