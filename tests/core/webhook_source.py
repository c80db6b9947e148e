"""A test platform's webhooks: how it signs them and what processing them does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import requests
from django.http import JsonResponse

from apps.core import channels
from apps.core.audit import LogContext, synclog_record
from apps.core.channels import BodyHmac, Channel, HeaderHmac, channel_register
from apps.core.models import Connection, Credentials, SyncLog, WebhookEvent
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


# A scheme that signs a timestamp header, a dot and the body.
STAMPED_SOURCE = Channel(
    platform="stamphook", secret=lambda: SECRET, timestamp_field="timestamp",
    verifier=HeaderHmac(signature_header="X-Stamphook-Signature",
                        signed_header="X-Stamphook-Timestamp", separator=b".",
                        prefix="sha256=", id_from_header=False),
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


# -- channels served per connection at /api/webhooks/<platform>/<id>/ ---------
# One per scheme, each with the platform's preset; their events are processed
# by `process` above (so they land in `processed`).

def channel_connection(platform: str, name: str = "account", **credentials: str) -> Connection:
    """A connection whose channel is served at /api/webhooks/<platform>/<its id>/."""
    connection = Connection(platform=platform, name=name)
    connection.set_credentials(Credentials(**credentials))
    connection.save()
    return connection


SLACK_CHANNEL = channel_register(Channel(platform="slackhook", verifier=channels.SLACK,
                                         event_id_field="event_id", event_type_field="type"))
ZOOM_CHANNEL = channel_register(Channel(platform="zoomhook", verifier=channels.ZOOM,
                                        event_id_field="event_id"))
STANDARD_CHANNEL = channel_register(Channel(platform="stdhook",
                                            verifier=channels.STANDARD_WEBHOOKS,
                                            event_type_field="type"))
DELIVEROO_CHANNEL = channel_register(Channel(platform="roohook", verifier=channels.DELIVEROO))
GRAPH_CHANNEL = channel_register(Channel(platform="graphhook",
                                         verifier=channels.MICROSOFT_GRAPH))
# A body HMAC in base64 behind a prefix, and the secret in another credential.
BASE64_CHANNEL = channel_register(Channel(
    platform="b64hook", credential="client_secret",
    verifier=BodyHmac(header="X-B64hook-Signature", prefix="sig=", prefix_required=True,
                      encoding="base64")))

# A thin webhook authenticated by a token in our URL, whose resource is read
# from the platform (as TheFork's). Identical bodies a minute apart are two
# changes of one reservation.
THIN_RESOURCE_URL = "https://thin.example.test/reservations/{uuid}"


def fetch_reservation(*, event: WebhookEvent, payload: dict[str, Any]) -> dict[str, Any]:
    response = requests.get(THIN_RESOURCE_URL.format(uuid=payload["uuid"]), timeout=5)
    response.raise_for_status()
    return {"notification": payload, "reservation": response.json()}


THIN_CHANNEL = channel_register(Channel(
    platform="thinhook", verifier=channels.THEFORK, event_id_field="",
    event_type_field="eventType", repeat_window=timedelta(minutes=1), fetch=fetch_reservation,
    acknowledge=lambda event_id, duplicate: JsonResponse({"data": {}})))

# A platform whose processor always fails: for the retry schedule.
FAILING_CHANNEL = channel_register(Channel(
    platform="failhook", verifier=BodyHmac(header="X-Failhook-Signature"), secret=lambda: "s",
    retry_delays=(timedelta(minutes=1), timedelta(minutes=5))))

for _platform in ("slackhook", "zoomhook", "stdhook", "roohook", "graphhook", "b64hook",
                  "thinhook"):
    webhook_processor(_platform)(process)


@webhook_processor("failhook")
def process_failing(event: WebhookEvent, payload: dict[str, Any]) -> str | None:
    """Writes an audit row (to see whose request id it carries), then fails
    while `failing` is set."""
    synclog_record(platform="failhook", log=LogContext(action="event.apply",
                                                       entity_id=event.event_id),
                   direction=SyncLog.Direction.INBOUND, status=SyncLog.Status.SUCCESS)
    processed.append((event.event_id, payload))
    if failing:
        raise RuntimeError("the platform's data is not what we expect")
    return None


failing = True


def hex_hmac(secret: str, content: bytes) -> str:
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def slack_headers(secret: str, body: bytes, timestamp: int | None = None,
                  prefix: str = "X-Slack") -> dict[str, str]:
    """Slack's scheme (Zoom's is the same under x-zm-* headers)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hex_hmac(secret, f"v0:{stamp}:".encode() + body)
    if prefix == "X-Slack":
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    return {"x-zm-request-timestamp": stamp, "x-zm-signature": signature}
