"""Signed webhook deliveries from a simulator to the hub, retried on failure.

A `Signer` gives the headers that authenticate one attempt; the schemes the
platforms use are here:
  BodyHmac          HMAC-SHA256 of the raw body, hex or base64, with an
                    optional prefix (`sha256=…`: GitHub, Symphonics, Shopify);
  TimestampedHmac   `v0=` + hex HMAC of `v0:<timestamp>:<body>`, the timestamp
                    in a header of its own (Slack, Zoom);
  StandardWebhooks  `v1,` + base64 HMAC of `<id>.<timestamp>.<body>` with the
                    base64 key of a `whsec_` secret (Standard Webhooks 1.0).
Timestamps are those of each attempt, read from the sender's clock.

Delivery is at least once: a connection error, timeout or non-2xx answer is
retried with doubling delays up to `max_attempts`. The first attempt waits
`delay_seconds` after the event (0 by default), as a provider's queue does.
Deliveries are sent in the order they become due; a failed one is retried
later while others proceed, so a hub must not rely on events arriving in
order (real providers do not promise it either). The event id stays the same
on every retry and on the deliberate duplicate (`duplicate=True`). Nothing
holds a lock during the HTTP call, so the hub may call the simulator back
while it handles a webhook. Retries wait on real (monotonic) time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import requests

logger = logging.getLogger(__name__)


def hmac_sha256(key: bytes, message: bytes, *, encoding: str = "hex") -> str:
    digest = hmac.new(key, message, hashlib.sha256)
    if encoding == "hex":
        return digest.hexdigest()
    if encoding == "base64":
        return base64.b64encode(digest.digest()).decode("ascii")
    raise ValueError(f"unknown signature encoding {encoding!r}")


class Signer(Protocol):
    def headers(self, body: bytes, *, event_id: str, timestamp: int) -> dict[str, str]:
        """The headers that sign one attempt."""


@dataclass(frozen=True)
class BodyHmac:
    secret: str
    header: str
    encoding: str = "hex"
    prefix: str = ""

    def sign(self, body: bytes) -> str:
        return self.prefix + hmac_sha256(self.secret.encode("utf-8"), body,
                                         encoding=self.encoding)

    def headers(self, body: bytes, *, event_id: str, timestamp: int) -> dict[str, str]:
        return {self.header: self.sign(body)}


@dataclass(frozen=True)
class TimestampedHmac:
    secret: str
    signature_header: str = "X-Slack-Signature"
    timestamp_header: str = "X-Slack-Request-Timestamp"
    version: str = "v0"

    def sign(self, body: bytes, timestamp: int) -> str:
        content = f"{self.version}:{timestamp}:".encode() + body
        return f"{self.version}=" + hmac_sha256(self.secret.encode("utf-8"), content)

    def headers(self, body: bytes, *, event_id: str, timestamp: int) -> dict[str, str]:
        return {self.timestamp_header: str(timestamp),
                self.signature_header: self.sign(body, timestamp)}


@dataclass(frozen=True)
class StandardWebhooks:
    # "whsec_" followed by the base64 of the key.
    secret: str

    def sign(self, body: bytes, event_id: str, timestamp: int) -> str:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        content = f"{event_id}.{timestamp}.".encode() + body
        return "v1," + hmac_sha256(key, content, encoding="base64")

    def headers(self, body: bytes, *, event_id: str, timestamp: int) -> dict[str, str]:
        return {"webhook-id": event_id, "webhook-timestamp": str(timestamp),
                "webhook-signature": self.sign(body, event_id, timestamp)}


@dataclass
class Delivery:
    event_id: str
    event: str
    body: bytes
    copy: int = 1  # 2 for the deliberate duplicate
    attempts: int = 0
    status: str = "pending"  # pending | delivered | failed
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: float = 0.0  # time.monotonic()

    def summary(self) -> dict[str, Any]:
        """For /_sim/state; the payload itself is the simulator's to show."""
        data = asdict(self)
        del data["body"], data["next_attempt_at"]
        return data


class WebhookSender:
    """Queues signed deliveries and sends the due ones when asked."""

    def __init__(
        self,
        url: str,
        signer: Signer,
        *,
        event_id_header: str | None = None,
        user_agent: str = "",
        content_type: str = "application/json",
        max_attempts: int = 4,
        retry_seconds: float = 0.5,
        timeout_seconds: float = 5.0,
        delay_seconds: float = 0.0,
        duplicate: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.signer = signer
        self.event_id_header = event_id_header
        self.user_agent = user_agent
        self.content_type = content_type
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.timeout_seconds = timeout_seconds
        self.delay_seconds = delay_seconds
        self.duplicate = duplicate
        self.clock = clock
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

    def headers_for(self, delivery: Delivery) -> dict[str, str]:
        headers = {"Content-Type": self.content_type,
                   **self.signer.headers(delivery.body, event_id=delivery.event_id,
                                         timestamp=int(self.clock()))}
        if self.event_id_header:
            headers[self.event_id_header] = delivery.event_id
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        return headers

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
        status_code, error = None, None
        try:
            # No shared Session: deliveries may run on two threads at once.
            # Redirects are not followed: a delivery answered 3xx has failed.
            response = requests.post(self.url, data=delivery.body,
                                     headers=self.headers_for(delivery),
                                     timeout=self.timeout_seconds, allow_redirects=False)
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
