"""Microsoft Graph subscriptions: the mailbox tells us when its events changed, and we sync.

A subscription on the calendar's events is created after a Microsoft
integration's first good sync, renewed (PATCH expirationDateTime) when less
than RENEW_BEFORE is left, created again when Graph no longer has it, and
deleted on disconnect. Its id, resource and expiry are kept on the
connection's settings (`graphSubscription`); its clientState is the
connection's `webhook_secret` credential (encrypted), one per connection and
kept across renewals.

Notifications come to the core inbox at /api/webhooks/microsoft/<connection
id>/: the core's Graph verifier answers the validationToken handshake
(before any check: it carries no proof) and compares every notification's
clientState with the secret in constant time; the processor asks for an
incremental sync. Graph notifies our own writes too: the sync recognises
them as echoes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.core.channels import MICROSOFT_GRAPH, Channel, channel_register
from apps.core.models import Connection, WebhookEvent
from apps.core.webhooks import webhook_processor
from apps.integrations.calendar_sync import calendar_sync_notified
from apps.integrations.calendars.microsoft import MicrosoftCalendar
from apps.integrations.models import Integration
from apps.integrations.provider_links import inbox_secret, inbox_url, link_expires_at, link_of

logger = logging.getLogger(__name__)

SUBSCRIPTION_KEY = "graphSubscription"
# Asked for 70 hours: under the 4,230 minutes Graph documents for Outlook
# events (the live service grants up to 10,070), so no ask is ever refused.
SUBSCRIPTION_TTL = timedelta(minutes=4200)
# Renewed when less than this is left: the hourly round has a day of attempts.
RENEW_BEFORE = timedelta(days=1)
# Graph's notifications carry neither an id nor a time, and two changes of one
# event give the same body: within this window they are one delivery (a
# retry), after it a new change. A change folded into a retry costs nothing:
# its sync is the one the first notification asked for (or its follow-up).
REPEAT_WINDOW = timedelta(seconds=5)

MICROSOFT = Integration.Provider.MICROSOFT
CHANNEL = channel_register(Channel(platform=MICROSOFT, verifier=MICROSOFT_GRAPH,
                                   event_id_field="", event_type_field="",
                                   repeat_window=REPEAT_WINDOW))


def notification_url(connection: Connection) -> str:
    """The inbox address of the connection's Graph notifications."""
    return inbox_url(connection)


def subscription_of(connection: Connection) -> dict | None:
    return link_of(connection, SUBSCRIPTION_KEY)


def subscription_expires_at(connection: Connection) -> datetime | None:
    return link_expires_at(connection, SUBSCRIPTION_KEY)


def _store(connection: Connection, stored: dict | None) -> None:
    with transaction.atomic():
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        values = {key: value for key, value in (current.settings or {}).items()
                  if key != SUBSCRIPTION_KEY}
        if stored is not None:
            values[SUBSCRIPTION_KEY] = stored
        current.settings = values
        current.save(update_fields=["settings", "updated_at"])
    connection.settings = current.settings


def subscription_open(*, integration: Integration) -> dict:
    """Subscribe to the integration's calendar (Graph validates the address first)."""
    connection = integration.connection
    watched = MicrosoftCalendar(integration).watch(
        channel_id="", address=notification_url(connection),
        token=inbox_secret(connection), ttl_seconds=int(SUBSCRIPTION_TTL.total_seconds()))
    stored = {"id": watched.channel_id, "resource": watched.resource_id,
              "expiresAt": watched.expires_at.isoformat() if watched.expires_at else ""}
    _store(connection, stored)
    return stored


def subscription_renew(*, integration: Integration) -> dict:
    """Push the subscription's end further, or subscribe again when Graph lost it."""
    connection = integration.connection
    stored = subscription_of(connection)
    if stored is None:
        return subscription_open(integration=integration)
    renewed = MicrosoftCalendar(integration).renew(
        channel_id=stored["id"], ttl_seconds=int(SUBSCRIPTION_TTL.total_seconds()))
    if renewed is None:
        # Expired before we renewed it (Graph forgets it then): a new one.
        return subscription_open(integration=integration)
    stored = {**stored, "expiresAt": renewed.expires_at.isoformat()
              if renewed.expires_at else ""}
    _store(connection, stored)
    return stored


def subscription_close(*, integration: Integration) -> bool:
    """Delete the integration's subscription (on disconnect); whether there was one."""
    connection = integration.connection
    stored = subscription_of(connection)
    if stored is None:
        return False
    MicrosoftCalendar(integration).stop(channel_id=stored["id"],
                                        resource_id=stored.get("resource", ""))
    _store(connection, None)
    return True


def subscription_ensure(*, integration: Integration) -> dict | None:
    """After a good sync: the subscription, created if the integration has none."""
    if subscription_of(integration.connection) is not None:
        return None
    return subscription_open(integration=integration)


def subscriptions_renew(*, now: datetime | None = None) -> int:
    """Renew every connected Microsoft calendar's subscription that ends within
    RENEW_BEFORE (or create the one missing after its first sync)."""
    now = now or timezone.now()
    renewed = 0
    integrations = Integration.objects.filter(
        provider=MICROSOFT, type="calendar", connection__status=Connection.Status.CONNECTED,
        last_sync_at__isnull=False).select_related("connection")
    for integration in integrations:
        expires_at = subscription_expires_at(integration.connection)
        if expires_at is not None and expires_at - now > RENEW_BEFORE:
            continue
        try:
            subscription_renew(integration=integration)
        except Exception:
            # One account's failure (revoked, address refused) must not stop the
            # others'; the next round tries again.
            logger.exception("graph subscription of integration %s not renewed",
                             integration.pk)
            continue
        renewed += 1
    return renewed


@webhook_processor(MICROSOFT)
def microsoft_notification(event: WebhookEvent, payload: dict) -> str | None:
    """A change to a subscribed calendar: an incremental sync of its integration."""
    return calendar_sync_notified(connection_id=event.connection_id, source=event.platform)
