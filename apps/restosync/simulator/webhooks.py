"""The restaurant's webhook to the hub: HYPOTHETICAL, every part of it configurable.

Zenchef's help centre says there is one webhook per restaurant, fired when
a reservation is made or updated; its payload and signature are not public
(../shared/reference/restosync.md 0.3, 1.3 "Unknown", 1.5.6). So nothing
below is the real format. The defaults:

    POST <url configured for the restaurant>
    Content-Type: application/json
    X-Zenchef-Signature: <lowercase hex HMAC-SHA256 of the raw body, keyed with the secret>
    X-Zenchef-Event-Id: evt_<24 hex>   (the same on a retry and on a duplicate)
    {"eventId": "evt_…", "event": "booking.created" | "booking.changed" | "booking.cancelled",
     "restaurantUid": "91edfa29", "occurredAt": "<ISO 8601 with offset, microseconds>",
     "booking": <BookingViewModel>}

What `WebhookSettings` changes (all through `POST /_sim/webhooks`):
  scheme            body_hmac (default) | timestamped (`v0=` HMAC of
                    `v0:<ts>:<body>` plus a timestamp header) |
                    standard (Standard Webhooks 1.0, secret `whsec_<base64>`) | none
  signature_header, encoding (hex | base64), prefix (e.g. "sha256=")
  event_id_header   "" sends none
  payload           full (above) | thin (`bookingUid` instead of `booking`: the
                    hub must GET it) | booking (the bare BookingViewModel, no
                    envelope: the event id is then only in its header)
  event_names       {"created": …, "changed": …, "cancelled": …}
  duplicate         every event sent twice with the same event id
  hold              events are kept back until `release(order=…)`, which
                    sends them in their order, reversed or shuffled: the
                    out-of-order delivery a hub must survive
  echo_api_changes  also report the changes the partner API made (the hub's
                    own), which a real platform may well do; off by default
and the sender's delay_seconds, max_attempts, retry_seconds, timeout_seconds.
Delivery, retries and signing are those of apps.core.simulator_kit.webhooks.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from apps.core.simulator_kit.webhooks import (
    BodyHmac,
    Signer,
    StandardWebhooks,
    TimestampedHmac,
    WebhookSender,
)

USER_AGENT = "Zenchef-Webhooks/1.2 (simulator)"
PAYLOADS = ("full", "thin", "booking")
SCHEMES = ("body_hmac", "timestamped", "standard", "none")
ORDERS = ("sent", "reverse", "shuffle")
DEFAULT_EVENT_NAMES = {"created": "booking.created", "changed": "booking.changed",
                       "cancelled": "booking.cancelled"}


class Unsigned:
    """The `none` scheme: a webhook authenticated only by its secret URL."""

    def headers(self, body: bytes, *, event_id: str, timestamp: int) -> dict[str, str]:
        return {}


@dataclass
class WebhookSettings:
    url: str
    secret: str = ""
    scheme: str = "body_hmac"
    signature_header: str = "X-Zenchef-Signature"
    encoding: str = "hex"
    prefix: str = ""
    event_id_header: str = "X-Zenchef-Event-Id"
    payload: str = "full"
    event_names: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EVENT_NAMES))
    duplicate: bool = False
    hold: bool = False
    echo_api_changes: bool = False
    delay_seconds: float = 0.0
    max_attempts: int = 4
    retry_seconds: float = 0.5
    timeout_seconds: float = 5.0

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> WebhookSettings:
        """From a control-API body; unknown keys and values are refused (ValueError)."""
        known = {f.name for f in fields(cls)}
        unknown = set(body) - known - {"restaurant_uid"}
        if unknown:
            raise ValueError(f"unknown webhook setting(s): {', '.join(sorted(unknown))}")
        if not isinstance(body.get("url"), str) or not body["url"]:
            raise ValueError("url is required")
        values = {k: v for k, v in body.items() if k in known}
        values["event_names"] = {**DEFAULT_EVENT_NAMES, **(values.get("event_names") or {})}
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}")
        if self.payload not in PAYLOADS:
            raise ValueError(f"payload must be one of {', '.join(PAYLOADS)}")
        if self.encoding not in ("hex", "base64"):
            raise ValueError("encoding must be hex or base64")
        if self.scheme != "none" and not self.secret:
            raise ValueError("a signed scheme needs a secret")

    def signer(self) -> Signer:
        if self.scheme == "timestamped":
            return TimestampedHmac(self.secret, signature_header=self.signature_header)
        if self.scheme == "standard":
            return StandardWebhooks(self.secret)
        if self.scheme == "none":
            return Unsigned()
        return BodyHmac(self.secret, self.signature_header, encoding=self.encoding,
                        prefix=self.prefix)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["secret"] = "***" if self.secret else ""  # /_sim/state is not a secret store
        return data


def sign(body: bytes, secret: str) -> str:
    """The default X-Zenchef-Signature for a raw body."""
    return BodyHmac(secret, "X-Zenchef-Signature").sign(body)


def encode_event(settings: WebhookSettings, *, event_id: str, kind: str, restaurant_uid: str,
                 occurred_at: str, booking: dict[str, Any]) -> bytes:
    """The exact bytes sent, and signed."""
    if settings.payload == "booking":
        payload: dict[str, Any] = booking
    else:
        payload = {"eventId": event_id, "event": settings.event_names[kind],
                   "restaurantUid": restaurant_uid, "occurredAt": occurred_at}
        if settings.payload == "thin":
            payload["bookingUid"] = booking["uid"]
        else:
            payload["booking"] = booking
    return json.dumps(payload).encode("utf-8")


class WebhookChannel:
    """One restaurant's webhook: its settings, its sender and the events held back."""

    def __init__(self, restaurant_uid: str, settings: WebhookSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.restaurant_uid = restaurant_uid
        self.settings = settings
        self.sender = WebhookSender(
            settings.url, settings.signer(),
            event_id_header=settings.event_id_header or None, user_agent=USER_AGENT,
            max_attempts=settings.max_attempts, retry_seconds=settings.retry_seconds,
            timeout_seconds=settings.timeout_seconds, delay_seconds=settings.delay_seconds,
            duplicate=settings.duplicate, clock=clock)
        self.held: list[tuple[str, str, bytes]] = []
        self.sent: dict[str, tuple[str, bytes]] = {}  # event id -> (event, body), for redelivery

    def submit(self, event_id: str, event: str, body: bytes) -> None:
        self.sent[event_id] = (event, body)
        if self.settings.hold:
            self.held.append((event_id, event, body))
        else:
            self.sender.submit(event_id, event, body)

    def release(self, order: str, rng: random.Random) -> int:
        """Send the held events in `order`; holding stops."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        held, self.held = self.held, []
        if order == "reverse":
            held.reverse()
        elif order == "shuffle":
            rng.shuffle(held)
        self.settings.hold = False
        for event_id, event, body in held:
            self.sender.submit(event_id, event, body)
        return len(held)

    def redeliver(self, event_id: str) -> bool:
        """Send an event again, same id and bytes (a provider's redelivery)."""
        if event_id not in self.sent:
            return False
        event, body = self.sent[event_id]
        self.sender.submit(event_id, event, body)
        return True

    def state(self) -> dict[str, Any]:
        return {"settings": self.settings.summary(), "held": [e for e, _, _ in self.held],
                **self.sender.counts(), "deliveries": self.sender.summaries()}
