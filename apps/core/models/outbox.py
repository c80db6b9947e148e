"""The outbox: durable intents to call a platform."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
        SUPERSEDED = "superseded", "Superseded by a newer change"

    OPEN_STATES = (State.PENDING, State.IN_FLIGHT, State.FAILED, State.UNKNOWN)

    platform = models.CharField(max_length=40)
    connection = models.ForeignKey(
        "Connection", null=True, blank=True, on_delete=models.PROTECT, related_name="operations",
        help_text="The account it is performed with; empty: the platform's default one.",
    )
    kind = models.CharField(max_length=80, help_text="The handler that performs it.")
    idempotency_key = models.CharField(max_length=200, unique=True)
    # The same key with another payload is a different intent under a reused
    # key: refused rather than silently answered with the first operation.
    payload_hash = models.CharField(max_length=64, blank=True)
    entity_type = models.CharField(max_length=60, blank=True)
    entity_id = models.CharField(max_length=120, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
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
    request_id = models.CharField(
        max_length=100, blank=True,
        help_text="The request (X-Request-ID) that caused it; its worker's audit rows carry it.")
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
            models.Index(fields=["entity_type", "entity_id", "state", "created_at"],
                         name="outbox_entity_order"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} [{self.idempotency_key}] {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES
