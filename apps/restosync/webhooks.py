"""Zenchef's booking webhooks through the core inbox.

Each configuration's webhook URL is its connection's core channel,
/api/webhooks/zenchef/<connection id>/ (`selectors.config_webhook_url`):
the inbox verifies the signature with the connection's webhook secret,
stores the delivery, drops a repeat of its event id, and hands it to the
processor below in a task. An address naming no Zenchef connection is
answered 404 by the core and stored nowhere.

Zenchef's webhook format is not public (connectors/zenchef/webhooks.py):
its signature header, encoding and prefix are read at each delivery from
the `ZENCHEF_WEBHOOK` setting (a dict of `WebhookFormat` fields, the
simulator's format when unset), because the core's channel is one per
platform and its verifier does not see the connection. The rest of the
format (envelope, field and event names) is per configuration, in its
connection's settings under "webhook", and read by the connector.

A thin event naming only the booking is completed by a GET before the
processing transaction starts (the channel's `fetch`), so no database
transaction waits on Zenchef.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from apps.core.attention import attention_raise
from apps.core.channels import Channel, Inbound, Verified, Verifier, channel_register
from apps.core.models import WebhookEvent
from apps.core.webhooks import webhook_processor
from apps.restosync.connectors import get_connector
from apps.restosync.connectors.zenchef.webhooks import WebhookFormat
from apps.restosync.inbound import DOMAIN, IGNORED, remote_reservation_apply
from apps.restosync.models import SyncPlatformConfig
from apps.restosync.selectors import config_restaurant_uid, connector_config
from apps.restosync.types import UNKNOWN, PlatformEvent

logger = logging.getLogger(__name__)

PLATFORM = SyncPlatformConfig.Platform.ZENCHEF.value
UNKNOWN_EVENT = "restosync.unknown_event"


def webhook_format() -> WebhookFormat:
    """The deployment's Zenchef webhook format (its signature scheme)."""
    return WebhookFormat.from_options({"webhook": getattr(settings, "ZENCHEF_WEBHOOK", None)})


class ZenchefVerifier(Verifier):
    """An HMAC of the body in the header `ZENCHEF_WEBHOOK` names, read at each
    delivery, so a corrected format needs no new code."""

    def verify(self, inbound: Inbound, secret: str) -> Verified:
        return webhook_format().verifier().verify(inbound, secret)


CHANNEL = channel_register(Channel(
    platform=PLATFORM,
    verifier=ZenchefVerifier(),
    event_id_header=WebhookFormat.event_id_header,
    event_id_field=WebhookFormat.event_id_field,
    event_type_field=WebhookFormat.event_type_field,
    # No send time is required: whether Zenchef signs one is unknown, and a
    # bare booking carries none; a replayed delivery is a duplicate by its id.
    timestamp_field="",
    fetch=lambda *, event, payload: _fetch_thin(event, payload),
))


def _config(event: WebhookEvent) -> SyncPlatformConfig | None:
    return (SyncPlatformConfig.objects.select_related("restaurant", "connection")
            .filter(connection_id=event.connection_id).first())


def _parse(config: SyncPlatformConfig, event: WebhookEvent, payload: dict[str, Any]
           ) -> PlatformEvent:
    connector = get_connector(connector_config(config))
    headers = event.headers if isinstance(event.headers, dict) else {}
    return connector.parse_webhook(headers=headers, payload=payload)


def _fetch_thin(event: WebhookEvent, payload: dict[str, Any]) -> dict[str, Any]:
    """A thin event (the booking's id only) with the booking read from Zenchef."""
    config = _config(event)
    if config is None:
        return payload
    parsed = _parse(config, event, payload)
    if parsed.reservation is not None or not parsed.external_id:
        return payload
    connector = get_connector(connector_config(config))
    booking = connector.get_reservation(parsed.external_id)
    fmt = WebhookFormat.from_options(config.connection.settings
                                     if isinstance(config.connection.settings, dict) else {})
    return {**payload, fmt.booking_field: booking.raw}


@webhook_processor(PLATFORM)
def zenchef_event_apply(event: WebhookEvent, payload: dict[str, Any]) -> str:
    config = _config(event)
    if config is None or not config.is_active:
        # Its configuration was deleted or switched off after the delivery.
        logger.warning("zenchef event %s: no active configuration for connection %s",
                       event.event_id, event.connection_id)
        return WebhookEvent.Status.IGNORED
    parsed = _parse(config, event, payload)
    uid = config_restaurant_uid(config)
    if parsed.restaurant_uid and uid and parsed.restaurant_uid != uid:
        logger.warning("zenchef event %s names restaurant %s, not %s's; ignored",
                       event.event_id, parsed.restaurant_uid, config)
        return WebhookEvent.Status.IGNORED
    if parsed.kind == UNKNOWN:
        attention_raise(
            domain=DOMAIN, kind=UNKNOWN_EVENT, subject=event,
            summary=gettext_noop("%(platform)s sent an event named %(event)s, which the hub "
                                 "does not know: it was not applied."),
            values={"platform": config.get_platform_display(), "event": parsed.raw_type},
            action_hint=gettext_noop("Add the name to the configuration's webhook event "
                                     "types, then replay the event from the webhook inbox."))
        return WebhookEvent.Status.IGNORED
    if parsed.reservation is None:
        logger.warning("zenchef event %s carries no booking; ignored", event.event_id)
        return WebhookEvent.Status.IGNORED
    outcome = remote_reservation_apply(
        config=config, remote=parsed.reservation, event_id=event.event_id,
        seen_at=parsed.occurred_at or parsed.reservation.updated_at)
    return WebhookEvent.Status.IGNORED if outcome == IGNORED else WebhookEvent.Status.PROCESSED
