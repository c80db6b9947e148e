"""A test platform's webhooks: how it signs them and what processing them does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from apps.core.models import WebhookEvent
from apps.core.webhooks import WebhookSource, webhook_processor

SECRET = "whsec-test-secret"

SOURCE = WebhookSource(platform="testhook", secret=lambda: SECRET,
                       signature_header="X-Testhook-Signature")
# Declared the way a platform's documentation spells it; HTTP header names
# are case-insensitive.
SHOUTING_SOURCE = WebhookSource(platform="shouthook", secret=lambda: SECRET,
                                signature_header="X-SHOUTHOOK-SIGNATURE")
# The event id comes in a header, outside what is signed (as Symphonics does).
HEADER_ID_SOURCE = WebhookSource(platform="idhook", secret=lambda: SECRET,
                                 signature_header="X-Idhook-Signature",
                                 event_id_header="X-Idhook-Event-Id")


class StampedSource(WebhookSource):
    """A scheme that signs a timestamp header, a dot and the body."""

    def signed_content(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        return headers.get("X-Stamphook-Timestamp", "").encode() + b"." + body


STAMPED_SOURCE = StampedSource(platform="stamphook", secret=lambda: SECRET,
                               signature_header="X-Stamphook-Signature",
                               event_id_header="X-Stamphook-Event-Id")

# (event_id, payload) of every processed event, in order.
processed: list[tuple[str, dict[str, Any]]] = []


@webhook_processor("testhook")
def process(event: WebhookEvent, payload: dict[str, Any]) -> str | None:
    processed.append((event.event_id, payload))
    if payload.get("event") == "unknown.type":
        return WebhookEvent.Status.IGNORED
    if payload.get("event") == "explode":
        raise RuntimeError("processing failed")
    return None


webhook_processor("idhook")(process)
webhook_processor("stamphook")(process)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_for(event_id: str = "evt-1", *, timestamp: Any = None, **fields: Any) -> bytes:
    payload = {"id": event_id, "event": "worker.updated",
               "timestamp": int(time.time()) if timestamp is None else timestamp, **fields}
    return json.dumps(payload).encode()
