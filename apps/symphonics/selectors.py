"""Read-only queries of the Symphonics app."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from apps.core.attention_selectors import attention_annotations
from apps.core.models import SyncLog
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
