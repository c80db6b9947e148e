"""Deliveries are processed in batches: a web process sends at most one nudge
per window plus a trailing one, and every committed event is covered."""

import pytest

from apps.core import webhooks
from config.celery import app as celery_app


@pytest.fixture
def sent(monkeypatch):
    """Celery in broker mode, recording what would be sent."""
    messages = []
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    from apps.core import tasks

    monkeypatch.setattr(tasks.process_waiting_webhooks, "delay",
                        lambda: messages.append(("now", None)))
    monkeypatch.setattr(tasks.process_waiting_webhooks, "apply_async",
                        lambda countdown: messages.append(("later", round(countdown, 2))))
    monkeypatch.setattr(webhooks, "_last_nudge", -webhooks.NUDGE_WINDOW)
    monkeypatch.setattr(webhooks, "_trailing_due", 0.0)
    return messages


def test_it_sends_one_nudge_and_one_trailing_nudge_per_window(sent, monkeypatch):
    clock = iter([100.0, 100.05, 100.1, 100.15, 100.25, 100.3])
    monkeypatch.setattr(webhooks, "_clock", lambda: next(clock))
    for _ in range(6):
        webhooks._nudge()
    # 100.00: at once; 100.05: trailing due 100.20; 100.10 and 100.15: covered by it;
    # 100.25: a new window, at once; 100.30: trailing due 100.45.
    assert sent == [("now", None), ("later", 0.15), ("now", None), ("later", 0.15)]


def test_it_processes_every_waiting_event_in_one_batch(db):
    from tests.core import webhook_source  # noqa: F401 - registers the testhook processor
    from tests.factories import WebhookEventFactory

    events = [WebhookEventFactory(platform="testhook", status="accepted",
                                  body='{"event": "unknown.type"}') for _ in range(3)]
    assert webhooks.webhooks_process_waiting() == 3
    assert {e.__class__.objects.get(pk=e.pk).status for e in events} == {"ignored"}
