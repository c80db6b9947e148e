"""The periodic poll catches what missed webhooks did not say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.attention_selectors import attention_open_for
from apps.core.errors import ServiceError
from apps.core.schedules import Every, registered_schedules
from apps.symphonics import services
from apps.symphonics.models import Intervention
from apps.symphonics.selectors import interventions_to_poll
from apps.symphonics.tasks import poll_open
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db
Status = Intervention.Status


def _silent_for(intervention: Intervention, minutes: int) -> None:
    Intervention.objects.filter(pk=intervention.pk).update(
        synced_at=timezone.now() - timedelta(minutes=minutes))


def test_it_polls_open_interventions_silent_for_a_while_oldest_first(settings):
    settings.SYMPHONICS_POLL_BATCH = 2
    oldest, older, old = (InterventionFactory(published=True) for _ in range(3))
    for intervention, minutes in ((oldest, 300), (older, 200), (old, 100)):
        _silent_for(intervention, minutes)
    recent = InterventionFactory(published=True)
    _silent_for(recent, 5)
    approved = InterventionFactory(status=Status.APPROVED, remote_status="approved",
                                   symphonics_id="sym_done")
    _silent_for(approved, 500)
    not_yet_published = InterventionFactory(status=Status.PUBLISHING)

    polled = interventions_to_poll()

    assert polled == [oldest.pk, older.pk]
    assert not {recent.pk, approved.pk, not_yet_published.pk} & set(polled)


def test_it_is_scheduled_every_ten_minutes():
    (schedule,) = [s for s in registered_schedules() if s.task == "symphonics.poll_open"]
    assert schedule.when == Every(seconds=600)


def test_it_reads_the_status_a_webhook_never_brought(simulator, django_capture_on_commit_callbacks):
    sim = simulator(processing_delay_seconds=1, verification_delay_seconds=1)
    intervention = InterventionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.intervention_publish(intervention=intervention)
    sim.advance(60)  # Symphonics verified everything; no webhook reached us
    _silent_for(intervention, 60)

    assert poll_open() == 1

    intervention.refresh_from_db()
    assert intervention.status == Status.APPROVED
    assert intervention.next_steps == []
    assert list(intervention.status_history.values_list("remote_status", "source")) == [
        ("created", "publish"), ("approved", "poll")]
    assert set(intervention.documents.values_list("verification_status", flat=True)) == {
        "verified"}
    assert timezone.now() - intervention.synced_at < timedelta(seconds=5)


def test_it_shows_the_next_steps_symphonics_asks_for(simulator,
                                                      django_capture_on_commit_callbacks):
    sim = simulator(processing_delay_seconds=1, verification_delay_seconds=1)
    intervention = InterventionFactory()
    document = intervention.documents.get(kind="attestation_honneur")
    document.name = "Attestation - reject me"
    document.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.intervention_publish(intervention=intervention)
    sim.advance(60)
    intervention.refresh_from_db()

    services.intervention_refresh(intervention=intervention)

    intervention.refresh_from_db()
    assert intervention.status == Status.PROOF_REQUIRED
    assert intervention.next_steps == [{"type": "additional_proof", "status": "required"}]
    assert "symphonics.proof_required" in attention_open_for(intervention)
    document.refresh_from_db()
    assert document.verification_status == "rejected"


def test_it_flags_an_intervention_symphonics_no_longer_knows(simulator):
    simulator()
    intervention = InterventionFactory(published=True)

    with pytest.raises(ServiceError) as excinfo:
        services.intervention_refresh(intervention=intervention)

    assert excinfo.value.code == "unknown_at_symphonics"
    intervention.refresh_from_db()
    assert "no longer knows" in attention_open_for(intervention)["symphonics.unknown_remote"]


def test_a_failed_poll_is_left_for_the_next_run(simulator, sleeps):
    sim = simulator()
    intervention = InterventionFactory(published=True)
    _silent_for(intervention, 60)
    sim.faults.update({"error_rate": 1.0})

    assert poll_open() == 1

    intervention.refresh_from_db()
    assert intervention.status == Status.PROCESSING
