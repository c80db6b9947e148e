"""The inbox: inbound deliveries, stored before anything else happens."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.Model):
    """An inbound webhook delivery, stored raw before anything else happens."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted, waiting to be processed")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored (unknown event type)")
        FAILED = "failed", _("Processing failed, will retry")
        DEAD = "dead", _("Failed for good (needs a manager)")
        REJECTED = "rejected", _("Rejected (signature or timestamp)")
        DUPLICATE = "duplicate", _("Duplicate delivery")

    platform = models.CharField(_("platform"), max_length=40)
    connection = models.ForeignKey(
        "Connection", verbose_name=_("connection"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="events",
        help_text=_("The account whose channel received it."),
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    event_id = models.CharField(_("event ID"), max_length=200, blank=True)
    event_type = models.CharField(_("event type"), max_length=120, blank=True)
    # Unique among deliveries that were accepted; NULL for rejected and
    # duplicate ones, so every delivery is kept but each event runs once.
    dedupe_key = models.CharField(_("dedupe key"), max_length=260, null=True, blank=True,
                                  unique=True)
    # The same for the signed content: a captured delivery replayed with a
    # new event id (outside the signature) is still the same event.
    content_dedupe_key = models.CharField(_("content dedupe key"), max_length=120, null=True,
                                          blank=True, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    # Rejected deliveries keep only the start of their body (see body_bytes
    # and body_sha256 for the whole of it): a forger must not fill the disk.
    body = models.TextField(_("body"), blank=True)
    body_bytes = models.PositiveIntegerField(_("body bytes"), default=0,
                                             help_text=_("Size of the body as received."))
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, blank=True,
                                   help_text=_("SHA-256 of the body as received."))
    signature_valid = models.BooleanField(_("signature valid"), default=False)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(
        _("claimed at"), null=True, blank=True,
        help_text=_("When a worker last took it for processing.")
    )
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), null=True, blank=True,
        help_text=_("When a failed event is processed again."))
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    request_id = models.CharField(_("request ID"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["platform", "-received_at"], name="webhook_platform_recent"),
            models.Index(fields=["status", "received_at"], name="webhook_status"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_retry_due"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.event_type or '?'} ({self.status})"
