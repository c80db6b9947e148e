"""A captured delivery resent with another event id (the id header is outside
the signature) is a duplicate: de-duplication also keys on the signed content."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from apps.core.models import WebhookEvent
from tests.core import webhook_source
from tests.core.webhook_source import SECRET, body_for, sign

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls"),
              pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    def deliver(body: bytes, event_id: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/webhooks/idhook/", data=body, content_type="application/json",
                               headers={"X-Idhook-Signature": sign(body),
                                        "X-Idhook-Event-Id": event_id})

    return deliver


@pytest.fixture
def deliver_stamped(client, django_capture_on_commit_callbacks):
    def deliver(body: bytes, event_id: str, stamp: str, signed: bytes | None = None):
        signed = stamp.encode() + b"." + body if signed is None else signed
        signature = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/webhooks/stamphook/", data=body,
                               content_type="application/json",
                               headers={"X-Stamphook-Signature": signature,
                                        "X-Stamphook-Event-Id": event_id,
                                        "X-Stamphook-Timestamp": stamp})

    return deliver


def test_it_treats_a_signed_body_replayed_with_a_new_event_id_as_a_duplicate(deliver):
    body = body_for("payload-1")

    first = deliver(body, "hdr-1")
    replayed = deliver(body, "hdr-2")

    assert first.status_code == 202
    assert replayed.status_code == 200
    assert replayed.json() == {"status": "duplicate", "event_id": "hdr-2"}
    assert len(webhook_source.processed) == 1
    accepted = WebhookEvent.objects.get(status=Status.PROCESSED)
    assert accepted.content_dedupe_key == "idhook:" + hashlib.sha256(body).hexdigest()
    duplicate = WebhookEvent.objects.get(status=Status.DUPLICATE)
    assert (duplicate.dedupe_key, duplicate.content_dedupe_key) == (None, None)
    assert duplicate.event_id == "hdr-2"


def test_it_accepts_another_signed_body_under_another_event_id(deliver):
    assert deliver(body_for("payload-1"), "hdr-1").status_code == 202
    assert deliver(body_for("payload-2"), "hdr-2").status_code == 202

    assert len(webhook_source.processed) == 2


def test_it_verifies_and_deduplicates_what_a_source_says_it_signs(deliver_stamped):
    body = body_for("payload-1")

    assert deliver_stamped(body, "hdr-1", "1717171717").status_code == 202
    # Only the body signed, not the timestamp header: a forgery for this scheme.
    assert deliver_stamped(body, "hdr-2", "1717171717", signed=body).status_code == 401
    # The same body under another signed timestamp is another event...
    assert deliver_stamped(body, "hdr-3", "1717171718").status_code == 202
    # ...and the first one resent with a new id is a duplicate.
    assert deliver_stamped(body, "hdr-4", "1717171717").status_code == 200

    first = WebhookEvent.objects.get(event_id="hdr-1")
    signed = b"1717171717." + body
    assert first.content_dedupe_key == "stamphook:" + hashlib.sha256(signed).hexdigest()
    assert first.body_sha256 == hashlib.sha256(body).hexdigest()
    assert len(webhook_source.processed) == 2
