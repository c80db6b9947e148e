"""The same idempotency key for another payload is a different intent: refused."""

from __future__ import annotations

import pytest

from apps.core.models import OutboundOperation
from apps.core.operations import IdempotencyKeyReused, operation_enqueue, payload_hash
from tests.factories import OutboundOperationFactory

pytestmark = pytest.mark.django_db


def _enqueue(payload):
    return operation_enqueue(platform="acme", kind="test.scripted",
                             idempotency_key="acme:booking:9", payload=payload,
                             entity_type="booking", entity_id=9)


def test_it_refuses_the_same_key_with_another_payload(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first, _ = _enqueue({"guests": 2, "time": "19:30"})

        with pytest.raises(IdempotencyKeyReused) as refused:
            _enqueue({"guests": 4, "time": "19:30"})

    assert refused.value.code == "idempotency_key_reused"
    assert refused.value.details == {"idempotency_key": "acme:booking:9",
                                     "operation_id": first.pk}
    assert OutboundOperation.objects.get().payload == {"guests": 2, "time": "19:30"}


def test_it_returns_the_existing_operation_for_the_same_payload_in_any_key_order(
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first, created = _enqueue({"guests": 2, "time": "19:30"})
        again, created_again = _enqueue({"time": "19:30", "guests": 2})

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert len(callbacks) == 1


def test_it_stores_the_hash_of_the_canonical_json(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        operation, _ = _enqueue({"b": [1, 2], "a": "é"})

    assert operation.payload_hash == payload_hash({"a": "é", "b": [1, 2]})
    assert len(operation.payload_hash) == 64
    assert payload_hash({"a": 1}) != payload_hash({"a": "1"})


def test_it_accepts_any_payload_for_a_key_enqueued_before_payloads_were_hashed():
    legacy = OutboundOperationFactory(idempotency_key="acme:booking:9", payload={"guests": 2},
                                      payload_hash="")

    operation, created = _enqueue({"guests": 3})

    assert (operation.pk, created) == (legacy.pk, False)
