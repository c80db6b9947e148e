"""What every domain shares: the audit log, the webhook inbox, the outbox."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
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


class WebhookEvent(models.Model):
    """An inbound webhook delivery, stored raw before anything else happens."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted, waiting to be processed"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (unknown event type)"
        FAILED = "failed", "Processing failed"
        REJECTED = "rejected", "Rejected (signature or timestamp)"
        DUPLICATE = "duplicate", "Duplicate delivery"

    platform = models.CharField(max_length=40)
    received_at = models.DateTimeField(default=timezone.now)
    event_id = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=120, blank=True)
    # Unique among deliveries that were accepted; NULL for rejected and
    # duplicate ones, so every delivery is kept but each event runs once.
    dedupe_key = models.CharField(max_length=260, null=True, blank=True, unique=True)
    # The same for the signed content: a captured delivery replayed with a
    # new event id (outside the signature) is still the same event.
    content_dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    headers = models.JSONField(default=dict, blank=True)
    # Rejected deliveries keep only the start of their body (see body_bytes
    # and body_sha256 for the whole of it): a forger must not fill the disk.
    body = models.TextField(blank=True)
    body_bytes = models.PositiveIntegerField(default=0, help_text="Size of the body as received.")
    body_sha256 = models.CharField(max_length=64, blank=True,
                                   help_text="SHA-256 of the body as received.")
    signature_valid = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker last took it for processing."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["platform", "-received_at"], name="webhook_platform_recent"),
            models.Index(fields=["status", "received_at"], name="webhook_status"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.event_type or '?'} ({self.status})"


class OutboundOperation(models.Model):
    """A durable intent to call a platform (the outbox).

    Written in the same transaction as the change that caused it, before any
    HTTP call; the idempotency key makes a second intent for the same effect
    return the first one instead.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_FLIGHT = "in_flight", "In flight"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed, will retry"
        UNKNOWN = "unknown", "Outcome unknown, will reconcile"
        DEAD = "dead", "Dead (needs a manager)"

    OPEN_STATES = (State.PENDING, State.IN_FLIGHT, State.FAILED, State.UNKNOWN)

    platform = models.CharField(max_length=40)
    kind = models.CharField(max_length=80, help_text="The handler that performs it.")
    idempotency_key = models.CharField(max_length=200, unique=True)
    entity_type = models.CharField(max_length=60, blank=True)
    entity_id = models.CharField(max_length=120, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Times a worker ran it.")
    failures = models.PositiveSmallIntegerField(
        default=0, help_text="Consecutive failures; the retry schedule counts these."
    )
    needs_reconcile = models.BooleanField(
        default=False,
        help_text="A previous attempt may have reached the platform: check before resending.",
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["state", "lease_expires_at"], name="outbox_leases"),
            models.Index(fields=["platform", "state"], name="outbox_platform_state"),
            models.Index(fields=["entity_type", "entity_id"], name="outbox_entity"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} [{self.idempotency_key}] {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class Heartbeat(models.Model):
    """One row per probe, rewritten on each check: proves the database takes writes."""

    name = models.CharField(max_length=40, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class ApiTokenQuerySet(models.QuerySet):
    def for_key(self, key: str) -> ApiTokenQuerySet:
        return self.filter(key_hash=ApiToken.hash_key(key))


class ApiToken(models.Model):
    """A REST client's token; only its SHA-256 is stored, never the key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    @classmethod
    def issue(cls, user) -> tuple[ApiToken, str]:
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, key_hash=cls.hash_key(key), prefix=key[:8])
        return token, key
