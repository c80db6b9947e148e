"""Outgoing webhooks: the endpoints partners register, and each delivery to one.

Any domain emits events (`apps.core.outgoing.webhook_emit`); every active
endpoint of the event's tenant that subscribed to its type, and whose
filters match, gets one delivery, sent through the outbox and signed per
Standard Webhooks. The attempts themselves are audit rows (SyncLog), written
before each request goes out.
"""

from __future__ import annotations

import json

from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import decrypt_str, encrypt_str
from apps.core.models.connections import CredentialsUnreadable


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribed to, signed with its own secret."""

    # Who owns it, as for a Connection: both empty is the deployment itself.
    tenant_type = models.CharField(_("tenant type"), max_length=40, blank=True)
    tenant_id = models.CharField(_("tenant id"), max_length=64, blank=True)
    url = models.CharField(_("URL"), max_length=500,
                           help_text=_("http(s) only; its host must resolve to public addresses."))
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    # Custom headers may carry a partner's token ("Authorization: Bearer ..."),
    # and the signing secret is needed in clear to sign: both are Fernet
    # tokens, decrypted on demand (a lost key fails this endpoint readably,
    # not every query of the table).
    encrypted_headers = models.TextField(_("encrypted headers"), blank=True, editable=False)
    encrypted_secret = models.TextField(_("encrypted signing secret"), editable=False)
    max_retries = models.PositiveSmallIntegerField(
        _("max retries"), default=3,
        help_text=_("Retries after a failed first attempt; then the delivery is dead."))
    backoff_multiplier = models.FloatField(
        _("backoff multiplier"), default=2.0,
        help_text=_("Each retry waits this many times longer than the previous one."))
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.TextField(_("disabled because"), blank=True)
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failed deliveries"), default=0,
        help_text=_("Dead deliveries since the last success; the endpoint is disabled at the "
                    "limit."))
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant_type", "tenant_id", "is_active"],
                                name="webhookendpoint_tenant")]

    def __str__(self) -> str:
        return self.description or self.url

    def _decrypt(self, token: str) -> str:
        try:
            return decrypt_str(token)
        except (InvalidToken, ImproperlyConfigured) as exc:
            raise CredentialsUnreadable(
                f"The secrets of webhook endpoint {self.pk} cannot be decrypted: the encryption "
                f"key that wrote them is no longer configured (FIELD_ENCRYPTION_KEYS).") from exc

    def headers(self) -> dict[str, str]:
        if not self.encrypted_headers:
            return {}
        return json.loads(self._decrypt(self.encrypted_headers))

    def set_headers(self, headers: dict[str, str]) -> None:
        self.encrypted_headers = encrypt_str(json.dumps(headers)) if headers else ""

    def secret(self) -> str:
        return self._decrypt(self.encrypted_secret)

    def set_secret(self, secret: str) -> None:
        self.encrypted_secret = encrypt_str(secret)


class WebhookDelivery(models.Model):
    """One event for one endpoint: a message id kept across every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Dead (gave up)")

    endpoint = models.ForeignKey(WebhookEndpoint, verbose_name=_("endpoint"),
                                 on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(_("event type"), max_length=80)
    # The whole Standard Webhooks envelope ({"type", "timestamp", "data"}),
    # serialised with sorted keys at each attempt, so every attempt sends the
    # same bytes whatever order the database keeps the keys in.
    payload = models.JSONField(_("payload"), default=dict)
    # "msg_" + random: the receivers' idempotency key, the same on every
    # attempt and redelivery; never user-controlled and never containing a
    # full stop (the signed content is "{id}.{timestamp}.{body}").
    message_id = models.CharField(_("message id"), max_length=40, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True,
                                                        blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    operation = models.ForeignKey("OutboundOperation", verbose_name=_("operation"), null=True,
                                  blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_endpoint"),
            models.Index(fields=["status", "-created_at"], name="webhookdelivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"
