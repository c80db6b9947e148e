"""The events this domain sends to partners' webhooks (the core's outgoing webhooks).

Two event types, the seed's:
  eventCreated       an event was created; filter `eventTypes` (the event's type
                     is one of a list)
  attendanceUpdated  an event's attendance changed (an import from Zoom, ...);
                     filters `eventTypes` and `minAttendanceChange` (the
                     attendance rate moved by at least this fraction, up or down:
                     0.1 is ten points)

The tenant of every delivery is the event's organisation, so a partner's
endpoint of one organisation never hears of another's events. Emitting
writes the deliveries in the caller's transaction: call these where the
change is saved.

The payloads (`data` of the Standard Webhooks envelope the core adds):
  eventCreated       {"id", "title", "eventType", "start", "end", "timeZone",
                      "location", "isPrivate", "organizerId"}
  attendanceUpdated  {"eventId", "eventType", "source", "attendanceRate",
                      "previousAttendanceRate", "attendanceChange",
                      "counts": {"total", "present", "absent", ...}}
The rate is the share of attendees present among those who did not decline
(0 when nobody is expected); the change is the rate minus the previous one.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from apps.core.models import WebhookDelivery
from apps.core.outgoing import (
    WebhookEventType,
    WebhookFilter,
    webhook_emit,
    webhook_event_type_register,
)
from apps.integrations.models import ORGANIZATION_TENANT, Attendance, Event

EVENT_CREATED = "eventCreated"
ATTENDANCE_UPDATED = "attendanceUpdated"
DOMAIN = "integrations"

EVENT_TYPES_FILTER = WebhookFilter(name="eventTypes", field="eventType", kind="in")
EVENT_TYPES = (
    WebhookEventType(name=EVENT_CREATED, domain=DOMAIN,
                     description="An event was created.", filters=(EVENT_TYPES_FILTER,)),
    WebhookEventType(name=ATTENDANCE_UPDATED, domain=DOMAIN,
                     description="An event's attendance changed.",
                     filters=(EVENT_TYPES_FILTER,
                              WebhookFilter(name="minAttendanceChange",
                                            field="attendanceChange", kind="min_abs"))),
)


def event_types_register() -> None:
    """Declare both types to the core (harmless when done before)."""
    for event_type in EVENT_TYPES:
        webhook_event_type_register(event_type)


# Registered on import, as channels and handlers are: whoever emits has imported this.
event_types_register()


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def emit_event_created(*, event: Event) -> list[WebhookDelivery]:
    return webhook_emit(event_type=EVENT_CREATED, tenant_type=ORGANIZATION_TENANT,
                        tenant_id=event.organization_id, payload={
                            "id": event.pk, "title": event.title, "eventType": event.type,
                            "start": _iso(event.start), "end": _iso(event.end),
                            "timeZone": event.time_zone, "location": event.location,
                            "isPrivate": event.is_private, "organizerId": event.organizer_id})


def attendance_counts(event: Event) -> dict[str, int]:
    """How many attendees of the event are in each status, and in all."""
    counts = {status: 0 for status in Attendance.Status.values}
    rows = (Attendance.objects.filter(event=event).values("status")
            .annotate(n=Count("pk")).order_by())
    for row in rows:
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts


def attendance_rate(counts: dict[str, int]) -> float:
    expected = counts["total"] - counts[Attendance.Status.DECLINED]
    return round(counts[Attendance.Status.PRESENT] / expected, 4) if expected else 0.0


def emit_attendance_updated(*, event: Event, previous_rate: float | None, source: str,
                            counts: dict[str, int] | None = None) -> list[WebhookDelivery]:
    """`previous_rate`: the rate before the change (None when there was no
    attendance to speak of: the change is then the whole rate)."""
    counts = counts or attendance_counts(event)
    rate = attendance_rate(counts)
    payload: dict[str, Any] = {
        "eventId": event.pk, "eventType": event.type, "source": source,
        "attendanceRate": rate, "previousAttendanceRate": previous_rate,
        "attendanceChange": round(rate - (previous_rate or 0.0), 4), "counts": counts,
    }
    return webhook_emit(event_type=ATTENDANCE_UPDATED, tenant_type=ORGANIZATION_TENANT,
                        tenant_id=event.organization_id, payload=payload)
