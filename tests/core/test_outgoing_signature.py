"""Standard Webhooks signatures: the published example verifies, ours are well formed.

The specification (standard-webhooks/standard-webhooks, spec/standard-webhooks.md)
shows a header `v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=` but publishes no
secret for it; the complete published example, secret included, is the reference
library's test vector (libraries/python/tests/test_webhooks.py, test_sign_function),
the one every official library (Go, Java, JavaScript, PHP, C#) tests against.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from apps.core.channels import STANDARD_WEBHOOKS, Inbound
from apps.core.outgoing import message_id_new, secret_generate, sign

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_it_signs_the_published_example_exactly():
    assert sign(secret=SPEC_SECRET, msg_id=SPEC_MSG_ID, timestamp=SPEC_TIMESTAMP,
                body=SPEC_PAYLOAD) == SPEC_SIGNATURE


def test_it_verifies_the_published_example_with_the_hubs_own_receiver():
    # The core's inbound verifier is a second, independent implementation.
    verified = STANDARD_WEBHOOKS.verify(Inbound(body=SPEC_PAYLOAD, headers={
        "webhook-id": SPEC_MSG_ID, "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE}), SPEC_SECRET)

    assert verified.event_id == SPEC_MSG_ID
    assert verified.sent_at == datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)
    assert verified.content == f"{SPEC_MSG_ID}.{SPEC_TIMESTAMP}.".encode() + SPEC_PAYLOAD


def test_it_signs_differently_when_one_byte_changes():
    changed = sign(secret=SPEC_SECRET, msg_id=SPEC_MSG_ID, timestamp=SPEC_TIMESTAMP,
                   body=b'{"test": 2432232315}')
    later = sign(secret=SPEC_SECRET, msg_id=SPEC_MSG_ID, timestamp=SPEC_TIMESTAMP + 1,
                 body=SPEC_PAYLOAD)

    assert SPEC_SIGNATURE not in (changed, later)


def test_it_generates_secrets_of_32_random_bytes_behind_whsec():
    first, second = secret_generate(), secret_generate()

    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_it_makes_message_ids_without_a_full_stop():
    ids = {message_id_new() for _ in range(200)}

    assert len(ids) == 200
    assert all(i.startswith("msg_") and "." not in i and len(i) <= 40 for i in ids)
