"""What a provider's notifications to the hub need on our side, the same for
Google's push channels, Microsoft's subscriptions and Zoom's events: the
connection's inbox address, the link the provider gave (kept in the
connection's settings under a key of its own) and the shared secret the
provider sends back (the connection's encrypted webhook secret, made once)."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from apps.core.connections import connection_set_credentials
from apps.core.models import Connection, CredentialsUnreadable


def inbox_url(connection: Connection) -> str:
    """The connection's inbox address: /api/webhooks/<provider>/<connection id>/."""
    path = reverse("webhook-channel", kwargs={"platform": connection.platform,
                                              "connection_id": connection.pk})
    return settings.HUB_BASE_URL.rstrip("/") + path


def link_of(connection: Connection, key: str) -> dict | None:
    """The channel or subscription stored under `key`, if one is open."""
    stored = (connection.settings or {}).get(key)
    return stored if isinstance(stored, dict) and stored.get("id") else None


def link_expires_at(connection: Connection, key: str) -> datetime | None:
    stored = link_of(connection, key)
    return parse_datetime(stored.get("expiresAt") or "") if stored else None


def inbox_secret(connection: Connection) -> str:
    """The secret the provider sends with each notification, created once and
    kept across renewals (a Google channel token, a Graph clientState)."""
    try:
        secret = connection.credentials().webhook_secret
    except CredentialsUnreadable:
        secret = ""
    if secret:
        return secret
    secret = secrets.token_urlsafe(32)
    connection_set_credentials(connection=connection, changes={"webhook_secret": secret})
    return secret
