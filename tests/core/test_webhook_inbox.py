"""The inbox stores every delivery, accepts only signed and fresh ones, and
processes each event once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from apps.core.models import WebhookEvent
from apps.core.tasks import sweep
from tests.core import webhook_source
from tests.core.webhook_source import body_for, sign

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls"),
              pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status
URL = "/webhooks/testhook/"


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    def deliver(body: bytes, signature: str | None = None, url: str = URL,
                header: str = "X-Testhook-Signature"):
        headers = {header: sign(body) if signature is None else signature}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type="application/json",
                               headers=headers)

    return deliver


def _assert_error_shape(response, code: str) -> None:
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_it_accepts_stores_and_processes_a_valid_delivery(deliver):
    body = body_for("evt-1")

    response = deliver(body)

    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "event_id": "evt-1"}
    event = WebhookEvent.objects.get()
    assert event.status == Status.PROCESSED
    assert event.signature_valid
    assert event.body == body.decode()
    assert event.event_type == "worker.updated"
    assert event.attempts == 1
    assert event.request_id == response.headers["X-Request-ID"]
    assert "whsec" not in json.dumps(event.headers)
    assert [event_id for event_id, _ in webhook_source.processed] == ["evt-1"]


def test_it_rejects_a_bad_signature_and_never_processes_it(deliver):
    body = body_for("evt-1")

    response = deliver(body, signature=sign(body, secret="not-the-secret"))

    assert response.status_code == 401
    _assert_error_shape(response, "invalid_signature")
    event = WebhookEvent.objects.get()
    assert event.status == Status.REJECTED
    assert not event.signature_valid
    assert event.body == body.decode()
    assert event.dedupe_key is None
    sweep()
    assert webhook_source.processed == []


@pytest.mark.parametrize("signature", ["", "sha256=", "sha256=ünïcode", "garbage"])
def test_it_rejects_a_missing_or_malformed_signature(deliver, signature):
    response = deliver(body_for("evt-1"), signature=signature)

    assert response.status_code == 401
    _assert_error_shape(response, "invalid_signature")
    assert WebhookEvent.objects.get().status == Status.REJECTED


@pytest.mark.parametrize("age", [-301, 301, 3600])
def test_it_rejects_a_timestamp_outside_the_window(deliver, age):
    response = deliver(body_for("evt-1", timestamp=int(time.time()) - age))

    assert response.status_code == 401
    _assert_error_shape(response, "stale_timestamp")
    event = WebhookEvent.objects.get()
    assert event.status == Status.REJECTED
    assert event.signature_valid
    assert webhook_source.processed == []


def test_it_accepts_an_iso_timestamp(deliver):
    now = datetime.now(UTC).isoformat()

    assert deliver(body_for("evt-1", timestamp=now)).status_code == 202


def test_it_reads_an_iso_timestamp_without_offset_as_utc(deliver):
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()

    assert deliver(body_for("evt-1", timestamp=now)).status_code == 202


@pytest.mark.parametrize("timestamp", [
    "2025-13-45T99:00:00Z",
    "yesterday",
    10**20,
    1_717_171_717_000,  # milliseconds, not seconds
    None,
])
def test_it_answers_400_to_an_unreadable_timestamp(deliver, timestamp):
    body = json.dumps({"id": "evt-1", "event": "x", "timestamp": timestamp}).encode()

    response = deliver(body)

    assert response.status_code == 400
    _assert_error_shape(response, "missing_timestamp")
    assert WebhookEvent.objects.get().status == Status.REJECTED


def test_it_stores_a_duplicate_delivery_and_processes_the_event_once(deliver):
    body = body_for("evt-1")

    first = deliver(body)
    second = deliver(body_for("evt-1", note="sent again"))

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {"status": "duplicate", "event_id": "evt-1"}
    statuses = sorted(WebhookEvent.objects.values_list("status", flat=True))
    assert statuses == [Status.DUPLICATE, Status.PROCESSED]
    assert len(webhook_source.processed) == 1


@pytest.mark.parametrize("signature", [None, "sha256=forged"], ids=["valid", "forged"])
def test_it_answers_503_and_acknowledges_nothing_when_the_database_fails(
        deliver, monkeypatch, signature):
    execute = CursorWrapper.execute

    def database_down(self, sql, params=None):
        # Every write to the inbox fails, however it is made (ORM or raw SQL).
        if 'INSERT INTO "core_webhookevent"' in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", database_down)

    response = deliver(body_for("evt-1"), signature=signature)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    _assert_error_shape(response, "service_unavailable")
    assert webhook_source.processed == []


def test_it_refuses_a_body_over_one_mebibyte(deliver):
    body = b'{"id": "evt-big", "padding": "' + b"x" * settings.WEBHOOK_MAX_BODY_BYTES + b'"}'

    response = deliver(body)

    assert response.status_code == 413
    _assert_error_shape(response, "payload_too_large")
    assert not WebhookEvent.objects.exists()


def test_it_accepts_a_body_of_exactly_one_mebibyte(deliver):
    head = body_for("evt-big")[:-1] + b', "padding": "'
    tail = b'"}'
    padding = settings.WEBHOOK_MAX_BODY_BYTES - len(head) - len(tail)
    body = head + b"x" * padding + tail
    assert len(body) == settings.WEBHOOK_MAX_BODY_BYTES

    assert deliver(body).status_code == 202


def test_it_refuses_anything_but_post(client):
    response = client.get(URL)

    assert response.status_code == 405
    _assert_error_shape(response, "method_not_allowed")


def test_it_answers_400_to_a_signed_body_that_is_not_json(deliver):
    response = deliver(b"not json")

    assert response.status_code == 400
    _assert_error_shape(response, "invalid_body")


def test_it_reads_the_signature_header_whatever_its_case(deliver):
    body = body_for("evt-1")

    response = deliver(body, url="/webhooks/shouthook/", header="x-shouthook-signature")

    assert response.status_code == 202


def test_it_records_an_unknown_event_type_as_ignored(deliver):
    deliver(body_for("evt-1", event="unknown.type"))

    assert WebhookEvent.objects.get().status == Status.IGNORED


def test_it_records_a_processing_failure(deliver):
    response = deliver(body_for("evt-1", event="explode"))

    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert event.status == Status.FAILED
    assert "processing failed" in event.error
