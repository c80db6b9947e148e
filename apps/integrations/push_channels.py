"""Google push channels: the calendar tells us when it changed, and we sync.

A channel is opened (`events.watch`) after a Google calendar integration's
first sync, renewed before it expires (Google has no renewal: a new channel
is opened, then the old one stopped), and stopped on disconnect. Its id,
resource id and expiry are kept on the connection's settings
(`googleChannel`); its token is the connection's `webhook_secret`
credential (encrypted), one per connection and kept across renewals, so a
notification from the channel being replaced is still accepted.

Notifications come to the core inbox at /api/webhooks/google/<connection
id>/: the channel registered here checks X-Goog-Channel-Token in constant
time, the event is the X-Goog-* headers (Google sends no body), and the
processor requests an incremental sync. Google's first "sync" message of a
channel carries no change and is ignored.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.core.channels import GOOGLE_CALENDAR_PUSH, Channel, channel_register
from apps.core.models import Connection, WebhookEvent
from apps.core.webhooks import webhook_processor
from apps.integrations.calendar_sync import calendar_sync_notified
from apps.integrations.calendars import adapter_for
from apps.integrations.models import Integration
from apps.integrations.provider_links import inbox_secret, inbox_url, link_expires_at, link_of

logger = logging.getLogger(__name__)

# Where the channel is kept on the connection's settings.
CHANNEL_KEY = "googleChannel"
# Asked for a week: Google's default for a channel that asks nothing, and
# what it grants to events channels (it may cut a longer ask).
CHANNEL_TTL = timedelta(days=7)
# Renewed when less than this is left: the hourly renewal then has a day of
# attempts before a channel lapses.
RENEW_BEFORE = timedelta(days=1)


GOOGLE = Integration.Provider.GOOGLE
CHANNEL = channel_register(Channel(platform=GOOGLE, verifier=GOOGLE_CALENDAR_PUSH,
                                   # Google signs no time; its message number orders events.
                                   event_type_field="event"))


def channel_address(connection: Connection) -> str:
    """The inbox address of the connection's Google notifications."""
    return inbox_url(connection)


def channel_of(connection: Connection) -> dict | None:
    return link_of(connection, CHANNEL_KEY)


def channel_expires_at(connection: Connection) -> datetime | None:
    return link_expires_at(connection, CHANNEL_KEY)


def push_channel_open(*, integration: Integration) -> dict:
    """Open a channel on the integration's calendar (replacing the one it has)."""
    connection = integration.connection
    adapter = adapter_for(integration)
    previous = channel_of(connection)
    watched = adapter.watch(channel_id=str(uuid.uuid4()), address=channel_address(connection),
                            token=inbox_secret(connection),
                            ttl_seconds=int(CHANNEL_TTL.total_seconds()))
    stored = {"id": watched.channel_id, "resourceId": watched.resource_id,
              "expiresAt": watched.expires_at.isoformat() if watched.expires_at else ""}
    with transaction.atomic():
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        current.settings = {**(current.settings or {}), CHANNEL_KEY: stored}
        current.save(update_fields=["settings", "updated_at"])
    connection.settings = current.settings
    if previous is not None:
        # After the new one is open, so no change falls between the two.
        adapter.stop(channel_id=previous["id"], resource_id=previous.get("resourceId", ""))
    return stored


def push_channel_close(*, integration: Integration) -> bool:
    """Stop the integration's channel (on disconnect); whether there was one."""
    connection = integration.connection
    stored = channel_of(connection)
    if stored is None:
        return False
    adapter_for(integration).stop(channel_id=stored["id"],
                                  resource_id=stored.get("resourceId", ""))
    with transaction.atomic():
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        current.settings = {key: value for key, value in (current.settings or {}).items()
                            if key != CHANNEL_KEY}
        current.save(update_fields=["settings", "updated_at"])
    connection.settings = current.settings
    return True


def push_channels_renew(*, now: datetime | None = None) -> int:
    """Open a new channel for every connected Google calendar whose channel ends
    within RENEW_BEFORE (or that has none yet after its first sync)."""
    now = now or timezone.now()
    renewed = 0
    integrations = Integration.objects.filter(
        provider=GOOGLE, connection__status=Connection.Status.CONNECTED,
        last_sync_at__isnull=False).select_related("connection")
    for integration in integrations:
        expires_at = channel_expires_at(integration.connection)
        if expires_at is not None and expires_at - now > RENEW_BEFORE:
            continue
        try:
            push_channel_open(integration=integration)
        except Exception:
            # One account's failure (revoked, quota) must not stop the others';
            # the next round tries again, the connection's own state says why.
            logger.exception("google channel of integration %s not renewed", integration.pk)
            continue
        renewed += 1
    return renewed


@webhook_processor(GOOGLE)
def google_notification(event: WebhookEvent, payload: dict) -> str | None:
    """A change to a watched calendar: an incremental sync of its integration."""
    if payload.get("event") == "sync":
        # The channel's first message says it is open; nothing changed.
        return WebhookEvent.Status.IGNORED
    return calendar_sync_notified(connection_id=event.connection_id, source=event.platform)
