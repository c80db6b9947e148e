"""Read-only queries of the Symphonics app."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, QuerySet
from django.utils import timezone

from apps.core.attention_selectors import attention_annotations
from apps.core.models import OutboundOperation, SyncLog
from apps.symphonics.mapping import intervention_payload
from apps.symphonics.models import Intervention
from apps.symphonics.validators import intervention_problems

ENTITY_TYPE = "symphonics.intervention"


def interventions_with_details() -> QuerySet[Intervention]:
    """With `needs_attention` and `attention_reason` from the attention queue."""
    return Intervention.objects.with_details().annotate(**attention_annotations(Intervention))


def intervention_create_payload(intervention: Intervention) -> tuple[dict[str, Any], list[int]]:
    """The create body as it would be sent now, and the ids of the documents in it."""
    documents = list(intervention.documents.order_by("pk"))
    payload = intervention_payload(
        intervention,
        services=intervention.services.order_by("pk"),
        equipment=intervention.equipment.order_by("pk"),
        documents=documents,
        photos=intervention.photos.order_by("pk"),
    )
    return payload, [document.pk for document in documents]


def intervention_publication_problems(intervention: Intervention) -> dict[str, list[str]]:
    payload, _ = intervention_create_payload(intervention)
    return intervention_problems(payload)


def interventions_to_poll(*, now: datetime | None = None, limit: int | None = None
                          ) -> list[int]:
    """Open interventions Symphonics has said nothing about for a while, oldest news first.

    Webhooks keep the others current; these may have missed one.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(minutes=settings.SYMPHONICS_POLL_STALE_MINUTES)
    return list(
        Intervention.objects.open_at_symphonics()
        .filter(synced_at__lt=stale_before)
        .order_by(F("synced_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[: limit or settings.SYMPHONICS_POLL_BATCH]
    )


def intervention_exchanges(intervention: Intervention, *, limit: int = 20) -> QuerySet[SyncLog]:
    """The latest calls to Symphonics about this intervention (the audit trail)."""
    return (SyncLog.objects
            .filter(entity_type=ENTITY_TYPE, entity_id=intervention.external_id)
            .only("pk", "created_at", "action", "status", "http_method", "http_status",
                  "error", "remote_request_id", "duration_ms")
            .order_by("-created_at")[:limit])


# Publications in flight: being sent, or at Symphonics and not decided yet.
IN_FLIGHT_STATUSES = (Intervention.Status.PUBLISHING, *Intervention.OPEN_STATUSES)


def interventions_in_flight(*, limit: int) -> list[Intervention]:
    """The newest publications in flight, without their details (a list, not a page)."""
    return list(Intervention.objects.filter(status__in=IN_FLIGHT_STATUSES)
                .only("pk", "external_id", "status", "remote_status", "published_at",
                      "synced_at", "last_error", "created_at")
                .order_by("-created_at", "-pk")[:limit])


def interventions_in_flight_counts() -> dict[str, int]:
    """Publications in flight by status: one grouped query on the status index."""
    return dict(Intervention.objects.filter(status__in=IN_FLIGHT_STATUSES).order_by()
                .values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


# A publication still being sent after this long is failing, which the
# attention queue says; it is no reason to keep reloading pages.
PUBLISHING_FOR = timedelta(hours=24)


def publications_being_sent(*, now: datetime | None = None) -> bool:
    """An intervention being published now: Symphonics' answer is due within seconds."""
    since = (now or timezone.now()) - PUBLISHING_FOR
    return Intervention.objects.filter(status=Intervention.Status.PUBLISHING,
                                       updated_at__gte=since).exists()


# What "retry now" takes again: operations that failed, died or whose outcome is unknown.
RETRYABLE_STATES = (OutboundOperation.State.FAILED, OutboundOperation.State.UNKNOWN,
                    OutboundOperation.State.DEAD)


def intervention_retryable_operations(*, intervention: Intervention) -> list[OutboundOperation]:
    """Its operations that failed, ended uncertain or died: what "retry now" re-sends."""
    return list(OutboundOperation.objects.filter(
        entity_type=ENTITY_TYPE, entity_id=intervention.external_id,
        state__in=RETRYABLE_STATES).order_by("created_at", "pk"))
