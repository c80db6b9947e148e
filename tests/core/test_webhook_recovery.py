"""An accepted event whose task was lost, or whose worker died while
processing it, is processed by the sweep; a live worker's event is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core.models import WebhookEvent
from apps.core.tasks import sweep
from apps.core.webhooks import webhook_process
from tests.core import webhook_source
from tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_processed():
    webhook_source.processed.clear()
    yield
    webhook_source.processed.clear()


def _event(**fields) -> WebhookEvent:
    with time_machine.travel(T0, tick=False):
        return WebhookEventFactory(platform="testhook", body='{"id": "evt-1"}', **fields)


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
