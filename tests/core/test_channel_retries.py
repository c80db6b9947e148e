"""A failed event is retried by the sweep on its channel's schedule, then dead
with an attention item that a manager's successful replay clears; audit rows
written while it is processed carry the request id of its delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core.models import AttentionItem, SyncLog, WebhookEvent
from apps.core.tasks import sweep
from apps.core.webhooks import DEAD_KIND, webhook_replay
from tests.core import webhook_source
from tests.core.webhook_source import hex_hmac

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _processor_fails(monkeypatch):
    monkeypatch.setattr(webhook_source, "failing", True)


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    def deliver(event_id: str = "f-1"):
        body = json.dumps({"id": event_id, "event": "order.created"}).encode()
        with time_machine.travel(T0, tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            response = client.post("/webhooks/failhook/", data=body,
                                   content_type="application/json",
                                   headers={"X-Failhook-Signature": hex_hmac("s", body),
                                            "X-Request-ID": "req-delivery-1"})
        assert response.status_code == 202
        return WebhookEvent.objects.get(event_id=event_id)

    return deliver


def _sweep_at(moment: datetime, django_capture_on_commit_callbacks) -> int:
    with time_machine.travel(moment, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        return sweep()["webhooks"]


def _open_dead_items(event: WebhookEvent):
    return AttentionItem.objects.open().filter(kind=DEAD_KIND, object_id=str(event.pk))


@pytest.mark.urls("tests.core.urls")
def test_it_retries_a_failed_event_on_schedule_then_declares_it_dead(
        deliver, django_capture_on_commit_callbacks):
    event = deliver()
    assert (event.status, event.attempts) == (Status.FAILED, 1)
    assert event.next_attempt_at == T0 + timedelta(minutes=1)

    # Not yet due: the sweep leaves it alone.
    assert _sweep_at(T0 + timedelta(seconds=59), django_capture_on_commit_callbacks) == 0
    assert _sweep_at(T0 + timedelta(minutes=1), django_capture_on_commit_callbacks) == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.FAILED, 2)
    assert event.next_attempt_at == T0 + timedelta(minutes=6)
    assert not _open_dead_items(event).exists()

    assert _sweep_at(T0 + timedelta(minutes=6), django_capture_on_commit_callbacks) == 1
    event.refresh_from_db()
    assert (event.status, event.attempts, event.next_attempt_at) == (Status.DEAD, 3, None)
    assert "RuntimeError" in event.error
    item = _open_dead_items(event).get()
    assert item.domain == "failhook"
    assert item.subject == event

    # Dead is final: the sweep never takes it again.
    assert _sweep_at(T0 + timedelta(days=2), django_capture_on_commit_callbacks) == 0
    assert len(webhook_source.processed) == 3


@pytest.mark.urls("tests.core.urls")
def test_a_successful_replay_clears_the_attention_item(
        deliver, monkeypatch, django_capture_on_commit_callbacks):
    event = deliver()
    for minutes in (1, 6):
        _sweep_at(T0 + timedelta(minutes=minutes), django_capture_on_commit_callbacks)
    assert _open_dead_items(event).exists()

    monkeypatch.setattr(webhook_source, "failing", False)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_replay(event=event)

    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.PROCESSED, 4)
    assert not _open_dead_items(event).exists()


@pytest.mark.urls("tests.core.urls")
def test_a_replay_that_fails_again_leaves_the_event_dead_and_flagged(
        deliver, django_capture_on_commit_callbacks):
    event = deliver()
    for minutes in (1, 6):
        _sweep_at(T0 + timedelta(minutes=minutes), django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        webhook_replay(event=event)

    event.refresh_from_db()
    assert event.status == Status.DEAD
    assert _open_dead_items(event).count() == 1


@pytest.mark.urls("tests.core.urls")
def test_audit_rows_written_while_processing_carry_the_deliverys_request_id(
        deliver, monkeypatch, django_capture_on_commit_callbacks):
    event = deliver()
    assert event.request_id == "req-delivery-1"
    monkeypatch.setattr(webhook_source, "failing", False)

    # Processed later by the sweep, in a worker that has no request of its own.
    _sweep_at(T0 + timedelta(minutes=1), django_capture_on_commit_callbacks)

    row = SyncLog.objects.get(platform="failhook")
    assert (row.entity_id, row.request_id) == ("f-1", "req-delivery-1")
