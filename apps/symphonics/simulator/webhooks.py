"""Signed webhook delivery to the hub, with retries (the core simulator kit's sender).

What goes on the wire (one POST per event to the hub's webhook URL):

    Content-Type: application/json
    X-Symphonics-Signature: sha256=<hex HMAC-SHA256 of the raw body, webhook secret>
    X-Symphonics-Event-Id: evt_<24 hex>
    body: {"event": ..., "timestamp": "YYYY-MM-DDTHH:MM:SSZ", "data": {...}}

The contract only says the signature is an HMAC-SHA256 in
X-Symphonics-Signature. Inferred: the `sha256=` prefix (the common
convention that names the algorithm) and the X-Symphonics-Event-Id header,
which stays the same on every retry and duplicate of one event, so the hub
can drop repeats. Retries, ordering and duplicates are those of
`apps.core.simulator_kit.webhooks.WebhookSender`.
"""

from __future__ import annotations

import json
from typing import Any

from apps.core.simulator_kit.webhooks import BodyHmac, WebhookSender

SIGNATURE_HEADER = "X-Symphonics-Signature"
EVENT_ID_HEADER = "X-Symphonics-Event-Id"
USER_AGENT = "Symphonics-Webhooks/1.0 (simulator)"


def signer(secret: str) -> BodyHmac:
    return BodyHmac(secret, SIGNATURE_HEADER, encoding="hex", prefix="sha256=")


def sign(body: bytes, secret: str) -> str:
    """The X-Symphonics-Signature value for a raw body."""
    return signer(secret).sign(body)


def encode_event(event: str, timestamp: str, data: dict[str, Any]) -> bytes:
    """The exact bytes sent, and signed: the contract's envelope."""
    return json.dumps({"event": event, "timestamp": timestamp, "data": data}).encode("utf-8")


def symphonics_sender(url: str, secret: str, **options: Any) -> WebhookSender:
    """options: max_attempts, retry_seconds, timeout_seconds, delay_seconds, duplicate."""
    return WebhookSender(url, signer(secret), event_id_header=EVENT_ID_HEADER,
                         user_agent=USER_AGENT, **options)
