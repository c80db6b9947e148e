"""The audit trail: one row per exchange with a platform."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SyncLog(models.Model):
    """One exchange with a platform (or one step of a sync), redacted.

    This table grows fast; the admin never counts it and every filter of the
    admin has an index below.
    """

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Status(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        CONFLICT = "conflict", "Conflict"
        RETRY = "retry", "Retry"
        SKIPPED = "skipped", "Skipped"
        # Written before the request goes out, then updated with the outcome:
        # a row still "started" is an exchange cut off (the worker was killed).
        STARTED = "started", "Started, no outcome recorded"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    platform = models.CharField(max_length=40)
    context = models.CharField(
        max_length=120, blank=True, help_text="Tenant or account the exchange belongs to."
    )
    entity_type = models.CharField(max_length=60, blank=True)
    entity_id = models.CharField(max_length=120, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    action = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices)
    http_method = models.CharField(max_length=10, blank=True)
    url = models.CharField(max_length=500, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    retry_count = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_id = models.CharField(
        max_length=100, blank=True, help_text="Our request id (X-Request-ID) that caused it."
    )
    remote_request_id = models.CharField(
        max_length=100, blank=True, help_text="The platform's own request id, for its support."
    )
    operation = models.ForeignKey(
        "OutboundOperation", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="logs",
    )
    connection = models.ForeignKey(
        "Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="logs",
        help_text="The account the exchange was made with.",
    )

    class Meta:
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
