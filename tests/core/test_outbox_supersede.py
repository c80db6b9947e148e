"""A newer update of an entity retires its older pending ones, in the same transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core.models import OutboundOperation
from apps.core.operations import operation_claim, operation_enqueue
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db
State = OutboundOperation.State


def _older(kind="test.superseding", **fields) -> OutboundOperation:
    return OutboundOperationFactory(kind=kind, entity_type="booking", entity_id="7",
                                    created_at=timezone.now() - timedelta(minutes=1), **fields)


def _enqueue(key="acme:booking:7:v3", kind="test.superseding", **options):
    return operation_enqueue(platform="acme", kind=kind, idempotency_key=key,
                             payload={"guests": 3}, entity_type="booking", entity_id=7,
                             **options)


def test_it_supersedes_older_pending_and_failed_operations_of_the_kind(
        django_capture_on_commit_callbacks):
    pending = _older()
    failed = _older(state=State.FAILED, attempts=1, failures=1)

    with django_capture_on_commit_callbacks(execute=False):
        newest, _ = _enqueue()

    for operation in (pending, failed):
        operation.refresh_from_db()
        assert operation.state == State.SUPERSEDED
        assert operation.result == {"superseded_by": newest.pk}
        assert operation.next_attempt_at is None
        assert operation.completed_at is not None
    # Nothing older holds the newest back now.
    assert operation_claim(newest.pk) is not None


@pytest.mark.parametrize("fields", [
    {"state": State.IN_FLIGHT, "attempts": 1},
    {"state": State.UNKNOWN, "attempts": 1, "needs_reconcile": True},
    {"state": State.FAILED, "attempts": 2, "needs_reconcile": True},
    # Polling for an asynchronous result: it has been sent.
    {"state": State.PENDING, "attempts": 1},
    {"state": State.DEAD, "attempts": 8},
    {"state": State.SUCCEEDED, "attempts": 1},
], ids=["in-flight", "unknown", "failed-after-unknown", "polling", "dead", "succeeded"])
def test_it_leaves_operations_that_may_have_taken_effect(fields,
                                                         django_capture_on_commit_callbacks):
    older = _older(**fields)

    with django_capture_on_commit_callbacks(execute=False):
        _enqueue()

    older.refresh_from_db()
    assert older.state == fields["state"]


def test_it_supersedes_only_the_same_kind_and_entity(django_capture_on_commit_callbacks):
    other_kind = _older(kind="test.scripted")
    other_entity = OutboundOperationFactory(kind="test.superseding", entity_type="booking",
                                            entity_id="8")

    with django_capture_on_commit_callbacks(execute=False):
        _enqueue()

    for operation in (other_kind, other_entity):
        operation.refresh_from_db()
        assert operation.state == State.PENDING


def test_it_supersedes_on_request_for_a_kind_that_does_not_by_default(
        django_capture_on_commit_callbacks):
    kept, retired = _older(kind="test.scripted"), _older(kind="test.scripted")

    with django_capture_on_commit_callbacks(execute=False):
        _enqueue(key="acme:booking:7:a", kind="test.scripted")
    kept.refresh_from_db()
    assert kept.state == State.PENDING

    with django_capture_on_commit_callbacks(execute=False):
        _enqueue(key="acme:booking:7:b", kind="test.scripted", supersedes=True)
    retired.refresh_from_db()
    assert retired.state == State.SUPERSEDED


def test_it_supersedes_nothing_when_the_caller_transaction_rolls_back(
        django_capture_on_commit_callbacks):
    older = _older()

    with pytest.raises(RuntimeError), transaction.atomic():
        _enqueue()
        raise RuntimeError("the change that caused it failed")

    older.refresh_from_db()
    assert older.state == State.PENDING
    assert not OutboundOperation.objects.filter(idempotency_key="acme:booking:7:v3").exists()


def test_it_supersedes_nothing_when_the_key_is_known():
    OutboundOperationFactory(kind="test.superseding", idempotency_key="acme:booking:7:v3",
                             entity_type="booking", entity_id="7", payload={"guests": 3},
                             state=State.SUCCEEDED)
    older = _older()

    _enqueue()

    older.refresh_from_db()
    assert older.state == State.PENDING
