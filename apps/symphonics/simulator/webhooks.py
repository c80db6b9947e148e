"""Signed webhook delivery to the hub, with retries.

What goes on the wire (one POST per event to the hub's webhook URL):

    Content-Type: application/json
    X-Symphonics-Signature: sha256=<hex HMAC-SHA256 of the raw body, webhook secret>
    X-Symphonics-Event-Id: evt_<24 hex>
    body: {"event": ..., "timestamp": "YYYY-MM-DDTHH:MM:SSZ", "data": {...}}

The contract only says the signature is an HMAC-SHA256 in
X-Symphonics-Signature. Inferred: the `sha256=` prefix (the common
convention that names the algorithm) and the X-Symphonics-Event-Id header,
which stays the same on every retry and duplicate of one event, so the hub
can drop repeats.

Delivery is at least once: a connection error, timeout or non-2xx answer is
retried with doubling delays up to `max_attempts`. The first attempt waits
`delay_seconds` after the event (0 by default), as a provider's queue does.
Deliveries are sent in the order they become due; a failed one is retried
later while others proceed, so a hub must not rely on events arriving in
order (real providers do not promise it either). Nothing here holds a lock
during the HTTP call, so the hub may call the simulator back while handling
a webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import requests

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Symphonics-Signature"
EVENT_ID_HEADER = "X-Symphonics-Event-Id"


def sign(body: bytes, secret: str) -> str:
    """The X-Symphonics-Signature value for a raw body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode_event(event: str, timestamp: str, data: dict[str, Any]) -> bytes:
    """The exact bytes sent, and signed: the contract's envelope."""
    return json.dumps({"event": event, "timestamp": timestamp, "data": data}).encode("utf-8")


@dataclass
class Delivery:
    event_id: str
    event: str
    body: bytes
    copy: int = 1  # 2 for the deliberate duplicate of `duplicate_webhooks`
    attempts: int = 0
    status: str = "pending"  # pending | delivered | failed
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: float = 0.0  # time.monotonic(): retries run on real time

    def summary(self) -> dict[str, Any]:
        """For /_sim/state; the payload itself is in the simulator's `events`."""
        data = asdict(self)
        del data["body"], data["next_attempt_at"]
        return data


class WebhookDispatcher:
    """Queues signed deliveries and sends the due ones when asked."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        max_attempts: int = 4,
        retry_seconds: float = 0.5,
        timeout_seconds: float = 5.0,
        delay_seconds: float = 0.0,
        duplicate: bool = False,
    ) -> None:
        self.url = url
        self.secret = secret
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.timeout_seconds = timeout_seconds
        self.delay_seconds = delay_seconds
        self.duplicate = duplicate
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []

    def submit(self, event_id: str, event: str, body: bytes) -> None:
        copies = 2 if self.duplicate else 1
        due = time.monotonic() + self.delay_seconds
        with self._lock:
            for copy in range(1, copies + 1):
                self._deliveries.append(Delivery(event_id, event, body, copy=copy,
                                                 next_attempt_at=due))

    def deliver_due(self) -> int:
        """Send every delivery whose time has come; returns how many were tried.

        Safe to call from several threads: a delivery is claimed under the
        lock (by pushing its next attempt away) before it is sent.
        """
        tried = 0
        while (delivery := self._claim_next()) is not None:
            self._attempt(delivery)
            tried += 1
        return tried

    def pending(self) -> int:
        with self._lock:
            return sum(1 for d in self._deliveries if d.status == "pending")

    def summaries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [delivery.summary() for delivery in self._deliveries]

    def counts(self) -> dict[str, int]:
        with self._lock:
            counts = {"pending": 0, "delivered": 0, "failed": 0, "attempts": 0}
            for delivery in self._deliveries:
                counts[delivery.status] += 1
                counts["attempts"] += delivery.attempts
            return counts

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def _claim_next(self) -> Delivery | None:
        now = time.monotonic()
        with self._lock:
            for delivery in self._deliveries:
                if delivery.status == "pending" and delivery.next_attempt_at <= now:
                    delivery.attempts += 1
                    delivery.next_attempt_at = float("inf")  # claimed
                    return delivery
        return None

    def _attempt(self, delivery: Delivery) -> None:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(delivery.body, self.secret),
            EVENT_ID_HEADER: delivery.event_id,
            "User-Agent": "Symphonics-Webhooks/1.0 (simulator)",
        }
        status_code, error = None, None
        try:
            # No shared Session: deliveries may run on two threads at once.
            response = requests.post(self.url, data=delivery.body, headers=headers,
                                     timeout=self.timeout_seconds)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._record(delivery, status_code, error)

    def _record(self, delivery: Delivery, status_code: int | None, error: str | None) -> None:
        with self._lock:
            delivery.last_status_code, delivery.last_error = status_code, error
            if error is None:
                delivery.status = "delivered"
            elif delivery.attempts >= self.max_attempts:
                delivery.status = "failed"
                logger.warning("Webhook %s (%s) given up after %d attempts: %s",
                               delivery.event_id, delivery.event, delivery.attempts, error)
            else:
                backoff = self.retry_seconds * 2 ** (delivery.attempts - 1)
                delivery.next_attempt_at = time.monotonic() + backoff
