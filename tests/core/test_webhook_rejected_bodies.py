"""Every stored delivery records the size and SHA-256 of its body; a rejected
one keeps at most its first 2 KiB, so forged deliveries cannot fill the disk."""

from __future__ import annotations

import hashlib
import time

import pytest
from django.conf import settings

from apps.core.models import WebhookEvent
from tests.core.webhook_source import body_for, sign

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]
Status = WebhookEvent.Status
URL = "/webhooks/testhook/"
KEPT = 2048


def _post(client, body: bytes, signature: str):
    return client.post(URL, data=body, content_type="application/json",
                       headers={"X-Testhook-Signature": signature})


def _big_body(size: int) -> bytes:
    head = body_for("evt-big")[:-1] + b', "padding": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_it_keeps_only_the_first_2_kib_of_a_forged_body(client):
    body = _big_body(settings.WEBHOOK_MAX_BODY_BYTES)

    response = _post(client, body, sign(body, secret="not-the-secret"))

    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.status == Status.REJECTED
    assert event.body == body[:KEPT].decode()
    assert event.body_bytes == len(body)
    assert event.body_sha256 == hashlib.sha256(body).hexdigest()
    assert event.headers["Content-Type"] == "application/json"


def test_it_keeps_only_the_first_2_kib_of_a_signed_but_stale_body(client):
    body = body_for("evt-old", timestamp=int(time.time()) - 3600, padding="y" * 10_000)

    response = _post(client, body, sign(body))

    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.signature_valid
    assert event.body == body[:KEPT].decode()
    assert event.body_bytes == len(body)


def test_it_stores_a_forged_binary_body_within_2_kib(client):
    # NUL bytes (PostgreSQL text refuses them) and a character cut at 2 KiB.
    body = b"\x00\xff" * 1000 + b"\xc3" * 100 + "é".encode() * 1000

    response = _post(client, body, "sha256=" + "0" * 64)

    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert len(event.body.encode()) <= KEPT
    assert "\x00" not in event.body
    assert event.body_bytes == len(body)
    assert event.body_sha256 == hashlib.sha256(body).hexdigest()


def test_it_records_the_size_and_hash_of_an_accepted_body_and_keeps_it_whole(
        client, django_capture_on_commit_callbacks):
    body = _big_body(100_000)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, body, sign(body))

    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert event.body == body.decode()
    assert event.body_bytes == len(body)
    assert event.body_sha256 == hashlib.sha256(body).hexdigest()
