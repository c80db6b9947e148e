"""What the RestoSync tests do again and again: push now, read the simulator,
book as a guest, deliver a signed Zenchef event, find a mapped reservation."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

import requests
from django.urls import reverse
from django.utils import timezone

from apps.core.models import ExternalMapping, OutboundOperation
from apps.core.operations import operation_run
from apps.core.sync import mapping_get
from apps.core.webhooks import webhooks_process_waiting
from apps.restosync.models import ENTITY_RESERVATION, Reservation, SyncPlatformConfig
from apps.restosync.operations import reservation_push
from apps.restosync.simulator import SANDBOX_RESTAURANT_UID
from tests.restosync.factories import BRUSSELS, WEBHOOK_SECRET, next_weekday


def push(reservation: Reservation, **options) -> list[OutboundOperation]:
    """Enqueue and run the reservation's pushes now (the worker's part)."""
    return [operation_run(op.pk) or op for op in reservation_push(reservation=reservation,
                                                                  **options)]


def sim_bookings(sim) -> list[dict]:
    return requests.get(f"{sim.base_url}/_sim/bookings", timeout=5).json()


def mapping_of(reservation: Reservation, config: SyncPlatformConfig) -> ExternalMapping | None:
    return mapping_get(entity_type=ENTITY_RESERVATION, local_id=reservation.pk,
                       connection=config.connection)


def guest_books(simulator, **overrides) -> dict:
    body = {"restaurantUid": SANDBOX_RESTAURANT_UID,
            "bookingDateTime": next_weekday(4).isoformat(), "numberOfPeople": 3,
            "firstName": "Eva", "lastName": "Claes", "telephone": "+32475000111",
            "email": "eva@example.test", "tables": [13]}
    body.update(overrides)
    response = requests.post(f"{simulator.base_url}/_sim/bookings", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def booking(uid: str = "bk-1", **overrides: Any) -> dict[str, Any]:
    """A BookingViewModel as Zenchef sends it."""
    body = {"uid": uid, "status": "ACCEPTED",
            "bookingDateTime": next_weekday(5).isoformat(), "bookingDuration": 120,
            "numberOfPeople": 2, "firstName": "Jan", "lastName": "Jansen",
            "telephone": "+32470123456", "email": "jan@example.com",
            "comments": "Allergies: nuts", "source": "widget", "externalReferenceId": None,
            "checkInDateTime": None, "checkOutDateTime": None, "tables": []}
    body.update(overrides)
    return body


def deliver(client, config: SyncPlatformConfig, body: dict[str, Any], *,
            event: str = "booking.changed", event_id: str = "",
            occurred_at: datetime | None = None, connection_id: int | None = None,
            process: bool = True):
    """POST one signed event to the configuration's webhook URL, then let the
    worker process what is waiting."""
    event_id = event_id or f"evt_{secrets.token_hex(6)}"
    payload = json.dumps({
        "eventId": event_id, "event": event, "restaurantUid": SANDBOX_RESTAURANT_UID,
        "occurredAt": (occurred_at or timezone.now()).astimezone(BRUSSELS).isoformat(),
        "booking": body}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), payload, hashlib.sha256).hexdigest()
    url = reverse("webhook-channel", kwargs={
        "platform": "zenchef", "connection_id": connection_id or config.connection_id})
    response = client.post(url, data=payload, content_type="application/json",
                           headers={"X-Zenchef-Signature": signature,
                                    "X-Zenchef-Event-Id": event_id})
    if process:
        webhooks_process_waiting()
    return response


def mapped_reservation(config: SyncPlatformConfig, uid: str = "bk-1") -> Reservation:
    mapping = ExternalMapping.objects.get(connection=config.connection,
                                          entity_type=ENTITY_RESERVATION, external_id=uid)
    return Reservation.objects.with_links().get(pk=mapping.local_id)
