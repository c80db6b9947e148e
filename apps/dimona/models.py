"""Flexi-job shifts and their Dimona declarations to the ONSS."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, blind_index, mask
from apps.dimona.validators import (
    normalise_digits,
    normalise_joint_commission,
    validate_enterprise_number,
    validate_joint_commission,
    validate_ssin,
)

FLEXI_JOINT_COMMISSION = "XXX"
MAX_SHIFT_LENGTH = timedelta(hours=24)


class Employer(models.Model):
    name = models.CharField(_("name"), max_length=200)
    enterprise_number = models.CharField(
        _("enterprise number"), max_length=10, unique=True,
        validators=[validate_enterprise_number],
        help_text=_("KBO/BCE number, 10 digits."),
    )
    joint_commission = models.CharField(
        _("joint commission"), max_length=10, default=FLEXI_JOINT_COMMISSION,
        validators=[validate_joint_commission],
        help_text=_("Declared joint commission: XXX (flexi-jobs are declared under XXX) or a "
                    "number such as 302 or 118.03."),
    )
    # Empty: the default ONSS connection (the account configured in the
    # environment). Another one is an employer declaring with its own ONSS account.
    connection = models.ForeignKey(
        "core.Connection", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"platform": "dimona"}, verbose_name=_("ONSS connection"),
        help_text=_("The ONSS account this employer declares with; empty: the default one."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.enterprise_number = normalise_digits(self.enterprise_number)
        self.joint_commission = normalise_joint_commission(self.joint_commission)


class Worker(models.Model):
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    # Encrypted at rest; `ssin_index` (a keyed hash) makes it unique and searchable.
    ssin = EncryptedTextField(_("SSIN"), validators=[validate_ssin])
    ssin_index = models.CharField(_("SSIN index"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def save(self, *args, **kwargs) -> None:
        self.ssin = normalise_digits(self.ssin)
        self.ssin_index = self.index_for(self.ssin)
        super().save(*args, **kwargs)

    @property
    def ssin_masked(self) -> str:
        return mask(self.ssin)

    @staticmethod
    def index_for(ssin: str) -> str:
        return blind_index(normalise_digits(ssin), purpose="worker.ssin")


class ShiftQuerySet(models.QuerySet):
    def with_parties(self) -> ShiftQuerySet:
        return self.select_related("employer", "worker")


class Shift(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        REFUSED = "refused", _("Refused by the worker")
        CANCELLED = "cancelled", _("Cancelled")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("No-show")

    employer = models.ForeignKey(Employer, verbose_name=_("employer"), on_delete=models.PROTECT,
                                 related_name="shifts")
    worker = models.ForeignKey(Worker, verbose_name=_("worker"), on_delete=models.PROTECT,
                               related_name="shifts")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.PROPOSED)
    clock_in_at = models.DateTimeField(_("clocked in at"), null=True, blank=True)
    validated_start = models.DateTimeField(_("validated start"), null=True, blank=True)
    validated_end = models.DateTimeField(_("validated end"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ShiftQuerySet.as_manager()

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["start"]
        indexes = [
            models.Index(fields=["status", "start"], name="shift_status_start"),
            models.Index(fields=["start"], name="shift_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")),
                                   name="shift_ends_after_start"),
        ]

    def __str__(self) -> str:
        # In the reader's zone, named: the same shift reads differently in Tunis.
        local = timezone.localtime(self.start)
        return f"{self.worker} {local:%Y-%m-%d %H:%M %Z}"

    def clean(self) -> None:
        if self.start and self.end:
            if self.end <= self.start:
                raise ValidationError({"end": _("The shift must end after it starts.")})
            if self.end - self.start > MAX_SHIFT_LENGTH:
                raise ValidationError({"end": _("A shift cannot last more than 24 hours.")})


class DeclarationQuerySet(models.QuerySet):
    def active_in(self) -> DeclarationQuerySet:
        return self.filter(kind=DimonaDeclaration.Kind.IN).exclude(
            status__in=DimonaDeclaration.INACTIVE_STATUSES)


class DimonaDeclaration(models.Model):
    class Kind(models.TextChoices):
        IN = "in", _("Dimona-In")
        UPDATE = "update", _("Dimona-Update")
        CANCEL = "cancel", _("Dimona-Cancel")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent, waiting for the result")
        ACCEPTED = "accepted", _("Accepted (A)")
        ACCEPTED_WITH_WARNINGS = "accepted_with_warnings", _("Accepted with warnings (W)")
        REFUSED = "refused", _("Refused (B)")
        WAITING_SIGEDIS = "waiting_sigedis", _("Waiting for SIGeDIS (S)")
        FAILED = "failed", _("Failed (not accepted by the API)")
        MANUAL_CHECK = "manual_check", _("Needs a manual check")

    class Result(models.TextChoices):
        A = "A", _("A — accepted")
        W = "W", _("W — accepted with warnings")
        B = "B", _("B — refused")
        S = "S", _("S — waiting for SIGeDIS")

    # A refused or failed In does not count: the shift may be declared again.
    INACTIVE_STATUSES = (Status.REFUSED, Status.FAILED)
    ACCEPTED_STATUSES = (Status.ACCEPTED, Status.ACCEPTED_WITH_WARNINGS)
    OPEN_STATUSES = (Status.PENDING, Status.SENT, Status.WAITING_SIGEDIS, Status.MANUAL_CHECK)

    shift = models.ForeignKey(Shift, verbose_name=_("shift"), on_delete=models.PROTECT,
                              related_name="declarations")
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices,
                              default=Status.PENDING)
    # The hours this declaration states (In and Update); a Cancel has none.
    declared_start = models.DateTimeField(_("declared start"), null=True, blank=True)
    declared_end = models.DateTimeField(_("declared end"), null=True, blank=True)
    declaration_id = models.CharField(
        _("declaration ID"), max_length=20, blank=True,
        help_text=_("ONSS declaration id, from the Location header."))
    period_id = models.CharField(
        _("period ID"), max_length=20, blank=True,
        help_text=_("ONSS period id (declarationStatus.period.id), used by Update and Cancel."))
    result = models.CharField(_("result"), max_length=1, choices=Result.choices, blank=True)
    anomalies = models.JSONField(_("anomalies"), default=list, blank=True)
    raw_status = models.JSONField(
        _("raw status"), default=dict, blank=True,
        help_text=_("declarationStatus exactly as the ONSS sent it."))
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    poll_count = models.PositiveIntegerField(_("poll count"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Saved before each POST: if no answer comes back, the ONSS may still
    # have received it, and this says since when to look for its period.
    send_attempted_at = models.DateTimeField(_("send attempted at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    operation = models.OneToOneField(
        "core.OutboundOperation", verbose_name=_("operation"), null=True, blank=True,
        on_delete=models.SET_NULL,
        related_name="dimona_declaration",
    )

    objects = DeclarationQuerySet.as_manager()

    class Meta:
        verbose_name = _("Dimona declaration")
        verbose_name_plural = _("Dimona declarations")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="declaration_status"),
            models.Index(fields=["result"], name="declaration_result"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shift"],
                condition=Q(kind="in") & ~Q(status__in=["refused", "failed"]),
                name="one_active_in_per_shift",
                violation_error_message=_("This shift already has an active Dimona-In."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
