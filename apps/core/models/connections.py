"""Connections: one account of one platform, owned by a tenant.

A restaurant connects its Zenchef account, an organisation its Google
Workspace, the deployment itself its ONSS and Symphonics accounts. Each has
its own credentials, settings and health; the platform client, rate limits,
breakers, token caches, audit rows, outbox operations and inbox events are
keyed by it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import decrypt_str, encrypt_str


class CredentialsUnreadable(Exception):
    """The stored credentials cannot be decrypted (the key that wrote them is gone)."""


@dataclass(frozen=True)
class Credentials:
    """What a connection authenticates with; only ever stored encrypted, as one blob."""

    api_key: str = ""
    client_id: str = ""
    client_secret: str = ""
    access_token: str = ""
    refresh_token: str = ""
    webhook_secret: str = ""
    # Anything else a platform needs (a private key, a certificate, a
    # restaurant uid given with the key...).
    extra: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for scrubbing from logs wherever it appears."""
        values = (self.api_key, self.client_secret, self.access_token, self.refresh_token,
                  self.webhook_secret, *self.extra.values())
        return tuple(value for value in values if value)

    def updated(self, **changes: Any) -> Credentials:
        return replace(self, **changes)


class ConnectionQuerySet(models.QuerySet):
    def for_platform(self, platform: str) -> ConnectionQuerySet:
        return self.filter(platform=platform)

    def default_for(self, platform: str) -> Connection | None:
        return self.filter(platform=platform, is_default=True).first()

    def locked(self) -> ConnectionQuerySet:
        """Rows locked until the end of the caller's transaction (token refresh)."""
        return self.select_for_update()


class Connection(models.Model):
    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        DISCONNECTED = "disconnected", _("Disconnected")
        ERROR = "error", _("Error")

    platform = models.CharField(_("platform"), max_length=40)
    # Who owns it. Both empty: the deployment itself (the accounts configured
    # from the environment). The core knows no domain model, hence a type
    # and an id rather than a foreign key.
    tenant_type = models.CharField(_("tenant type"), max_length=40, blank=True)
    tenant_id = models.CharField(_("tenant id"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(
        _("default connection"), default=False,
        help_text=_("The deployment's own account of this platform, configured from the "
                    "environment where its credentials are left empty."))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.CONNECTED)
    status_reason = models.TextField(_("status reason"), blank=True,
                                     help_text=_("Why it is in error, in words a manager reads."))
    base_url = models.URLField(_("base URL"), max_length=300, blank=True,
                               help_text=_("Empty: the platform's (or its simulator's) URL."))
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    # One Fernet token over the JSON of Credentials: decrypted on demand, so a
    # lost key makes this connection fail readably instead of every query.
    encrypted_credentials = models.TextField(_("encrypted credentials"), blank=True, editable=False)
    credentials_version = models.PositiveIntegerField(
        _("credentials version"), default=0, editable=False,
        help_text=_("Incremented at each change of credentials (a rotated refresh token)."))
    token_expires_at = models.DateTimeField(_("access token expires at"), null=True, blank=True)
    granted_scopes = models.JSONField(_("granted scopes"), default=list, blank=True)
    connected_by = models.ForeignKey(django_settings.AUTH_USER_MODEL,
                                     verbose_name=_("connected by"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    connected_at = models.DateTimeField(_("connected at"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["platform", "name"]
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        constraints = [
            models.UniqueConstraint(fields=["platform"], condition=models.Q(is_default=True),
                                    name="connection_one_default_per_platform"),
        ]
        indexes = [models.Index(fields=["platform", "tenant_type", "tenant_id"],
                                name="connection_tenant")]

    def __str__(self) -> str:
        return f"{self.platform}: {self.name}"

    @property
    def key(self) -> str:
        """What rate limits, breakers and token caches are keyed by."""
        return f"{self.platform}:{self.pk}"

    def credentials(self) -> Credentials:
        if not self.encrypted_credentials:
            return Credentials()
        try:
            data = json.loads(decrypt_str(self.encrypted_credentials))
        except (InvalidToken, ImproperlyConfigured, ValueError) as exc:
            raise CredentialsUnreadable(
                f"The credentials of {self} cannot be decrypted: the encryption key that "
                f"wrote them is no longer configured (FIELD_ENCRYPTION_KEYS).") from exc
        return Credentials(**{**data, "extra": data.get("extra") or {}})

    def set_credentials(self, credentials: Credentials) -> None:
        """Encrypt and replace them; the caller saves (with the version) in its transaction."""
        self.encrypted_credentials = encrypt_str(json.dumps(asdict(credentials)))
        self.credentials_version += 1

    def token_is_fresh(self, now: datetime, margin_seconds: float) -> bool:
        if self.token_expires_at is None:
            return True
        return (self.token_expires_at - now).total_seconds() > margin_seconds
