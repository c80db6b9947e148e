"""Symphonics webhooks through the core inbox.

The inbox (apps.core.webhooks) stores every delivery raw, checks
`X-Symphonics-Signature` (HMAC-SHA256 of the raw body with the shared
secret, `sha256=` prefix optional), refuses events whose `timestamp` is more
than 5 minutes off, and drops repeats of an `X-Symphonics-Event-Id` (or of
an identical body when that header is missing). What is left is applied
here, in a task, one event at a time.

Each connection has its channel at /api/webhooks/symphonics/<connection id>/,
signed with its credentials' webhook secret; /api/webhooks/symphonics/, the
URL registered before connections existed, is the default connection's,
whose secret stays SYMPHONICS_WEBHOOK_SECRET unless its credentials hold one.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from apps.core.channels import channel_register
from apps.core.models import WebhookEvent
from apps.core.webhooks import WebhookSource, webhook_processor, webhook_view
from apps.symphonics.client import PLATFORM
from apps.symphonics.mapping import (
    DOCUMENT_EVENT,
    STATUS_EVENT,
    parse_document_event,
    parse_status_event,
)
from apps.symphonics.services import document_verification_receive, intervention_status_receive

logger = logging.getLogger(__name__)

SOURCE = channel_register(WebhookSource(
    platform=PLATFORM,
    # Read at each delivery, so a rotated secret needs no restart of the code.
    secret=lambda: settings.SYMPHONICS_WEBHOOK_SECRET,
    signature_header="X-Symphonics-Signature",
    event_id_header="X-Symphonics-Event-Id",
    event_type_field="event",
    timestamp_field="timestamp",
))

# The view at /api/webhooks/symphonics/ (the URL registered with Symphonics).
receive = webhook_view(SOURCE, default_connection=True)


@webhook_processor(PLATFORM)
def symphonics_event_apply(event: WebhookEvent, payload: dict[str, Any]) -> str:
    if event.event_type == STATUS_EVENT:
        intervention = intervention_status_receive(event=parse_status_event(payload),
                                                   webhook_event=event)
    elif event.event_type == DOCUMENT_EVENT:
        intervention = document_verification_receive(event=parse_document_event(payload))
    else:
        return WebhookEvent.Status.IGNORED
    if intervention is None:
        # Not ours (another system on the same Symphonics account, or a
        # sandbox reset): kept in the inbox, nothing to apply.
        logger.warning("Symphonics %s event %s is about an intervention the hub does not know",
                       event.event_type, event.event_id)
        return WebhookEvent.Status.IGNORED
    return WebhookEvent.Status.PROCESSED
