"""The outbox: durable intents to call a platform."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboundOperation(models.Model):
    """A durable intent to call a platform (the outbox).

    Written in the same transaction as the change that caused it, before any
    HTTP call; the idempotency key makes a second intent for the same effect
    return the first one instead.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_FLIGHT = "in_flight", _("In flight")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed, will retry")
        UNKNOWN = "unknown", _("Outcome unknown, will reconcile")
        DEAD = "dead", _("Dead (needs a manager)")
        SUPERSEDED = "superseded", _("Superseded by a newer change")

    OPEN_STATES = (State.PENDING, State.IN_FLIGHT, State.FAILED, State.UNKNOWN)

    platform = models.CharField(_("platform"), max_length=40)
    connection = models.ForeignKey(
        "Connection", verbose_name=_("connection"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="operations",
        help_text=_("The account it is performed with; empty: the platform's default one."),
    )
    kind = models.CharField(_("kind"), max_length=80, help_text=_("The handler that performs it."))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    # The same key with another payload is a different intent under a reused
    # key: refused rather than silently answered with the first operation.
    payload_hash = models.CharField(_("payload hash"), max_length=64, blank=True)
    entity_type = models.CharField(_("entity type"), max_length=60, blank=True)
    entity_id = models.CharField(_("entity ID"), max_length=120, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices,
                             default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0,
                                           help_text=_("Times a worker ran it."))
    failures = models.PositiveSmallIntegerField(
        _("failures"), default=0,
        help_text=_("Consecutive failures; the retry schedule counts these.")
    )
    needs_reconcile = models.BooleanField(
        _("to reconcile"), default=False,
        help_text=_("A previous attempt may have reached the platform: check before resending."),
    )
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True,
                                                        blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    request_id = models.CharField(
        _("request ID"), max_length=100, blank=True,
        help_text=_("The request (X-Request-ID) that caused it; its worker's audit rows carry it."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound operation")
        verbose_name_plural = _("outbound operations")
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
