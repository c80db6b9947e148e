"""Rejected deliveries and finished events are deleted once past their
retention period, in bounded batches, by a nightly task; events that still
need work or a manager's look are kept whatever their age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.core.models import WebhookEvent
from apps.core.schedules import Crontab, registered_schedules, schedules_install
from apps.core.tasks import purge_webhooks
from apps.core.webhooks import webhooks_purge
from config.celery import app as celery_app
from tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


@pytest.fixture(autouse=True)
def _retention(settings):
    settings.WEBHOOK_REJECTED_RETENTION_DAYS = 7
    settings.WEBHOOK_PROCESSED_RETENTION_DAYS = 30


def _aged(status: str, days: float) -> WebhookEvent:
    fields = {"dedupe_key": None} if status in (Status.REJECTED, Status.DUPLICATE) else {}
    return WebhookEventFactory(status=status, received_at=timezone.now() - timedelta(days=days),
                               **fields)


def _left() -> set[int]:
    return set(WebhookEvent.objects.values_list("pk", flat=True))


def test_it_deletes_rejected_deliveries_past_their_retention():
    _aged(Status.REJECTED, 8)
    recent = _aged(Status.REJECTED, 6)

    counts = webhooks_purge()

    assert _left() == {recent.pk}
    assert counts == {"rejected": 1, "processed": 0}


@pytest.mark.parametrize("status", [Status.PROCESSED, Status.IGNORED, Status.DUPLICATE])
def test_it_deletes_finished_events_past_their_retention(status):
    _aged(status, 31)
    recent = _aged(status, 29)

    counts = webhooks_purge()

    assert _left() == {recent.pk}
    assert counts == {"rejected": 0, "processed": 1}


@pytest.mark.parametrize("status", [Status.ACCEPTED, Status.PROCESSING, Status.FAILED])
def test_it_never_deletes_an_event_that_still_needs_work(status):
    kept = _aged(status, 3650)

    webhooks_purge()

    assert _left() == {kept.pk}


def test_it_deletes_in_bounded_batches_and_stops_at_its_limit():
    for _ in range(5):
        _aged(Status.REJECTED, 8)

    first = webhooks_purge(batch=2, limit=3)

    assert first["rejected"] == 3
    assert len(_left()) == 2
    assert webhooks_purge(batch=2, limit=3)["rejected"] == 2
    assert _left() == set()


def test_it_purges_from_the_nightly_task():
    _aged(Status.PROCESSED, 31)

    purge_webhooks.delay()

    assert _left() == set()


def test_it_is_scheduled_every_night():
    (schedule,) = [s for s in registered_schedules() if s.task == "core.purge_webhooks"]

    assert schedule.task in celery_app.tasks
    assert isinstance(schedule.when, Crontab)
    assert (schedule.when.minute, schedule.when.hour) == ("30", "3")
    schedules_install()
    task = PeriodicTask.objects.get(name=schedule.name)
    assert task.enabled
    assert task.crontab.hour == "3"
