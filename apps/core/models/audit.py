"""The audit trail: one row per exchange with a platform."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SyncLog(models.Model):
    """One exchange with a platform (or one step of a sync), redacted.

    This table grows fast; the admin never counts it and every filter of the
    admin has an index below.
    """

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("Outbound")
        INBOUND = "inbound", _("Inbound")

    class Status(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILED = "failed", _("Failed")
        CONFLICT = "conflict", _("Conflict")
        RETRY = "retry", _("Retry")
        SKIPPED = "skipped", _("Skipped")
        # Written before the request goes out, then updated with the outcome:
        # a row still "started" is an exchange cut off (the worker was killed).
        STARTED = "started", _("Started, no outcome recorded")

    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    platform = models.CharField(_("platform"), max_length=40)
    context = models.CharField(
        _("context"), max_length=120, blank=True,
        help_text=_("Tenant or account the exchange belongs to.")
    )
    entity_type = models.CharField(_("entity type"), max_length=60, blank=True)
    entity_id = models.CharField(_("entity ID"), max_length=120, blank=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    action = models.CharField(_("action"), max_length=120)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    http_method = models.CharField(_("HTTP method"), max_length=10, blank=True)
    url = models.CharField(_("URL"), max_length=500, blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    request_headers = models.JSONField(_("request headers"), default=dict, blank=True)
    request_body = models.TextField(_("request body"), blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    response_body = models.TextField(_("response body"), blank=True)
    error = models.TextField(_("error"), blank=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    retry_count = models.PositiveSmallIntegerField(_("retry count"), default=0)
    next_retry_at = models.DateTimeField(_("next retry at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    request_id = models.CharField(
        _("request ID"), max_length=100, blank=True,
        help_text=_("Our request id (X-Request-ID) that caused it.")
    )
    remote_request_id = models.CharField(
        _("remote request ID"), max_length=100, blank=True,
        help_text=_("The platform's own request id, for its support.")
    )
    operation = models.ForeignKey(
        "OutboundOperation", verbose_name=_("operation"), null=True, blank=True,
        on_delete=models.SET_NULL,
        related_name="logs",
    )
    connection = models.ForeignKey(
        "Connection", verbose_name=_("connection"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="logs",
        help_text=_("The account the exchange was made with."),
    )

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["platform", "-created_at"], name="synclog_platform_recent"),
            models.Index(fields=["platform", "status", "-created_at"],
                         name="synclog_platform_status"),
            models.Index(fields=["entity_type", "entity_id"], name="synclog_entity"),
            models.Index(fields=["status", "-created_at"], name="synclog_status_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.action} {self.status}"
