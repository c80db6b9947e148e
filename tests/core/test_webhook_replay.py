"""A manager replays stored events from the admin; unverified ones never run."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.models import WebhookEvent
from apps.core.webhooks import webhook_replay
from tests.core import webhook_source
from tests.factories import WebhookEventFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status
CHANGELIST = reverse("admin:core_webhookevent_changelist")


def _event(status: str, **fields) -> WebhookEvent:
    fields.setdefault("dedupe_key", None if status in (Status.REJECTED, Status.DUPLICATE)
                      else f"testhook:{status}")
    return WebhookEventFactory(platform="testhook", status=status, event_id=f"evt-{status}",
                               body=f'{{"id": "evt-{status}", "event": "worker.updated"}}',
                               attempts=1, **fields)


def _replay(admin_client, django_capture_on_commit_callbacks, *events):
    with django_capture_on_commit_callbacks(execute=True):
        return admin_client.post(CHANGELIST, {"action": "replay",
                                              "_selected_action": [e.pk for e in events]},
                                 follow=True)


@pytest.mark.parametrize("status", [Status.PROCESSED, Status.FAILED, Status.IGNORED])
def test_it_processes_a_stored_event_again(admin_client, django_capture_on_commit_callbacks,
                                            status):
    event = _event(status)

    response = _replay(admin_client, django_capture_on_commit_callbacks, event)

    assert response.status_code == 200
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert event.attempts == 2
    assert webhook_source.processed == [(event.event_id, {"id": event.event_id,
                                                          "event": "worker.updated"})]


@pytest.mark.parametrize("status", [Status.REJECTED, Status.DUPLICATE])
def test_it_never_replays_an_unverified_or_duplicate_delivery(
        admin_client, django_capture_on_commit_callbacks, status):
    event = _event(status, signature_valid=status != Status.REJECTED)

    response = _replay(admin_client, django_capture_on_commit_callbacks, event)

    event.refresh_from_db()
    assert event.status == status
    assert webhook_source.processed == []
    messages = [str(message) for message in response.context["messages"]]
    assert any("only verified, unique events can be replayed" in m for m in messages)


def test_it_refuses_to_replay_an_event_being_processed():
    event = _event(Status.PROCESSING)

    with pytest.raises(ValueError, match="being processed"):
        webhook_replay(event=event)


def test_it_replays_only_the_valid_events_of_a_mixed_selection(
        admin_client, django_capture_on_commit_callbacks):
    good, bad = _event(Status.FAILED), _event(Status.REJECTED)

    _replay(admin_client, django_capture_on_commit_callbacks, good, bad)

    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, bad.status) == (Status.PROCESSED, Status.REJECTED)
    assert [event_id for event_id, _ in webhook_source.processed] == [good.event_id]


def test_a_replay_from_a_stale_page_leaves_an_event_being_processed_alone(
        django_capture_on_commit_callbacks):
    """The page showed the event failed; a worker took it again since."""
    event = WebhookEventFactory(platform="testhook", status=Status.FAILED)
    as_the_page_saw_it = WebhookEvent.objects.get(pk=event.pk)
    WebhookEvent.objects.filter(pk=event.pk).update(status=Status.PROCESSING)

    with django_capture_on_commit_callbacks(execute=True), \
            pytest.raises(ValueError, match="being processed"):
        webhook_replay(event=as_the_page_saw_it)

    event.refresh_from_db()
    assert event.status == Status.PROCESSING
    assert webhook_source.processed == []
