"""An accepted event whose task was lost, or whose worker died while
processing it, is processed by the sweep; a live worker's event is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core import webhooks
from apps.core.models import SyncLog, WebhookEvent
from apps.core.tasks import sweep
from apps.core.webhooks import webhook_process, webhook_processor
from tests.core import webhook_source
from tests.factories import SyncLogFactory, WebhookEventFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def _event(**fields) -> WebhookEvent:
    with time_machine.travel(T0, tick=False):
        return WebhookEventFactory(**{"platform": "testhook", "body": '{"id": "evt-1"}',
                                      **fields})


def test_it_processes_an_accepted_event_whose_task_was_lost():
    event = _event(status=Status.ACCEPTED)

    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        counts = sweep()

    assert counts["webhooks"] == 1
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert len(webhook_source.processed) == 1


def test_it_leaves_a_fresh_accepted_event_to_its_own_task():
    _event(status=Status.ACCEPTED)

    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert sweep()["webhooks"] == 0


def test_it_processes_again_an_event_whose_worker_died():
    event = _event(status=Status.PROCESSING, attempts=1, claimed_at=T0)

    with time_machine.travel(T0 + timedelta(minutes=11), tick=False):
        counts = sweep()

    assert counts["webhooks"] == 1
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert event.attempts == 2


def test_it_leaves_an_event_alone_while_a_worker_processes_it():
    event = _event(status=Status.PROCESSING, attempts=1, claimed_at=T0)

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert sweep()["webhooks"] == 0
        assert webhook_process(event.pk) is None

    assert webhook_source.processed == []


def test_it_never_processes_a_rejected_or_duplicate_delivery():
    for status in (Status.REJECTED, Status.DUPLICATE):
        event = _event(status=status, dedupe_key=None)
        assert webhook_process(event.pk) is None

    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert sweep()["webhooks"] == 0
    assert webhook_source.processed == []


@webhook_processor("ledgerhook")
def _apply_to_the_database(event: WebhookEvent, payload: dict) -> None:
    SyncLogFactory(platform="ledgerhook", entity_id=event.event_id)


class WorkerKilled(BaseException):
    """What a killed worker looks like to the code it was running."""


def test_a_worker_dying_before_the_status_is_written_leaves_no_half_applied_event(
        monkeypatch):
    """The changes and the new status commit together; the sweep then
    applies the event exactly once."""
    event = _event(status=Status.ACCEPTED, platform="ledgerhook", event_id="evt-l")
    record_outcome = webhooks._record_outcome

    def killed_on_the_first_write(*args, **kwargs):
        monkeypatch.setattr(webhooks, "_record_outcome", record_outcome)
        raise WorkerKilled

    monkeypatch.setattr(webhooks, "_record_outcome", killed_on_the_first_write)
    with time_machine.travel(T0, tick=False), pytest.raises(WorkerKilled):
        webhook_process(event.pk)
    assert not SyncLog.objects.filter(platform="ledgerhook").exists()

    with time_machine.travel(T0 + timedelta(minutes=11), tick=False):
        sweep()

    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert SyncLog.objects.filter(platform="ledgerhook", entity_id="evt-l").count() == 1


def test_a_worker_that_outlived_its_claim_undoes_its_changes():
    """Processing took longer than PROCESSING_TIMEOUT and another worker
    took the event: the slow one's changes are rolled back, not doubled."""
    event = _event(status=Status.ACCEPTED, platform="ledgerhook", event_id="evt-s")

    def another_worker_takes_it(event_, payload):
        SyncLogFactory(platform="ledgerhook", entity_id=event_.event_id)
        WebhookEvent.objects.filter(pk=event_.pk).update(claimed_at=T0 + timedelta(minutes=11))

    webhooks._processors["ledgerhook"] = another_worker_takes_it
    try:
        with time_machine.travel(T0, tick=False):
            assert webhook_process(event.pk) is None
    finally:
        webhooks._processors["ledgerhook"] = _apply_to_the_database

    assert not SyncLog.objects.filter(platform="ledgerhook").exists()
    event.refresh_from_db()
    assert event.status == Status.PROCESSING
