"""Completed energy-renovation interventions and their publication to Symphonics."""

from __future__ import annotations

from django.core.validators import EmailValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, mask, mask_email
from apps.core.validators import validate_single_line
from apps.symphonics.validators import (
    EMAIL_MESSAGE,
    validate_external_id,
    validate_french_phone,
    validate_pce,
    validate_pdl,
    validate_postal_code,
)


class InterventionQuerySet(models.QuerySet):
    def with_details(self) -> InterventionQuerySet:
        """Everything the API and the admin show, in a constant number of queries."""
        return self.prefetch_related(
            "services", "equipment", "documents", "photos",
            models.Prefetch("status_history",
                            InterventionStatusChange.objects.order_by("occurred_at", "pk")),
        )

    def open_at_symphonics(self) -> InterventionQuerySet:
        return self.filter(status__in=Intervention.OPEN_STATUSES).exclude(symphonics_id="")


class Intervention(models.Model):
    class Status(models.TextChoices):
        READY = "ready", _("Completed, not published yet")
        PUBLISHING = "publishing", _("Being published")
        PUBLISH_FAILED = "publish_failed", _("Publication refused")
        CREATED = "created", _("Created at Symphonics")
        PROCESSING = "processing", _("Being verified by Symphonics")
        PROOF_REQUIRED = "proof_required", _("Additional proof required")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        OTHER = "other", _("Other status at Symphonics (see the remote status)")

    # Symphonics has the intervention and has not decided yet: these are polled.
    OPEN_STATUSES = (Status.CREATED, Status.PROCESSING, Status.PROOF_REQUIRED, Status.OTHER)
    # Symphonics does not have it yet, so its data may still be corrected.
    EDITABLE_STATUSES = (Status.READY, Status.PUBLISH_FAILED)
    FINAL_STATUSES = (Status.APPROVED, Status.REJECTED)

    external_id = models.CharField(
        _("external ID"), max_length=100, unique=True, validators=[validate_external_id],
        help_text=_("Our id, sent as external_id; Symphonics refuses a second create with it."))
    symphonics_id = models.CharField(
        _("Symphonics ID"), max_length=100, blank=True,
        help_text=_("Symphonics' id (sym_…), once it has the intervention."))

    # Every free-text field below is sent to Symphonics as typed: one line,
    # no control characters. Symphonics documents no length limits, so the
    # max_length of each field is the bound.
    customer_first_name = models.CharField(_("customer first name"), max_length=100,
                                           validators=[validate_single_line])
    customer_last_name = models.CharField(_("customer last name"), max_length=100,
                                          validators=[validate_single_line])
    # Personal data: encrypted at rest, masked in logs and API output. The
    # e-mail check alone lets a quoted local part carry control characters.
    customer_email = EncryptedTextField(_("customer e-mail"),
                                        validators=[EmailValidator(message=EMAIL_MESSAGE),
                                                    validate_single_line])
    customer_phone = EncryptedTextField(_("customer phone"), validators=[validate_french_phone],
                                        help_text=_("E.164, e.g. +33612345678."))

    address = models.CharField(_("address"), max_length=255, validators=[validate_single_line],
                               help_text=_("Installation address (street)."))
    postal_code = models.CharField(_("postal code"), max_length=5,
                                   validators=[validate_postal_code])
    city = models.CharField(_("city"), max_length=100, validators=[validate_single_line])
    pdl = models.CharField(_("PDL"), max_length=14, validators=[validate_pdl],
                           help_text=_("Electricity delivery point (PDL/PRM), 14 digits."))
    pce = models.CharField(_("PCE"), max_length=14, blank=True, validators=[validate_pce],
                           help_text=_("Gas delivery point, if any: 14 digits or GI + 6 digits."))

    installer_user_id = models.CharField(_("installer user ID"), max_length=100,
                                         validators=[validate_single_line],
                                         help_text=_("The installer's Symphonics user id."))
    installer_company_id = models.CharField(_("installer company ID"), max_length=100, blank=True,
                                            validators=[validate_single_line])
    installer_name = models.CharField(_("installer name"), max_length=200,
                                      validators=[validate_single_line])
    completion_date = models.DateTimeField(_("completion date"))

    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.READY)
    remote_status = models.CharField(_("remote status"), max_length=40, blank=True,
                                     help_text=_("The status exactly as Symphonics sent it."))
    remote_status_at = models.DateTimeField(
        _("remote status at"), null=True, blank=True,
        help_text=_("When Symphonics moved to that status; an older event never overwrites it."))
    next_steps = models.JSONField(
        _("next steps"), default=list, blank=True,
        help_text=_("Symphonics' next_steps, as of the last status read."))
    last_error = models.TextField(_("last error"), blank=True)

    pdl_valid = models.BooleanField(_("PDL valid"), null=True, blank=True,
                                    help_text=_("Symphonics' answer to the last PDL check."))
    pdl_checked_at = models.DateTimeField(_("PDL checked at"), null=True, blank=True)
    pdl_check_message = models.CharField(_("PDL check message"), max_length=300, blank=True)

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    synced_at = models.DateTimeField(
        _("synced at"), null=True, blank=True,
        help_text=_("Last time Symphonics told us about it (an answer, a poll or a webhook)."))
    publish_operation = models.OneToOneField(
        "core.OutboundOperation", verbose_name=_("publish operation"), null=True, blank=True,
        on_delete=models.SET_NULL,
        related_name="symphonics_intervention",
    )
    # Empty: the default Symphonics client (configured in the environment).
    connection = models.ForeignKey(
        "core.Connection", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"platform": "symphonics"}, verbose_name=_("Symphonics connection"),
        help_text=_("The Symphonics client account it is published with; empty: the default "
                    "one."))

    objects = InterventionQuerySet.as_manager()

    class Meta:
        verbose_name = _("intervention")
        verbose_name_plural = _("interventions")
        ordering = ["-created_at"]
        indexes = [
            # The poll: open interventions not heard of for a while, oldest first.
            models.Index(fields=["status", "synced_at"], name="intervention_poll"),
            models.Index(fields=["-created_at"], name="intervention_recent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["symphonics_id"], condition=~Q(symphonics_id=""),
                                    name="unique_symphonics_id"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} — {self.customer_first_name} {self.customer_last_name}"

    @property
    def customer_name(self) -> str:
        return f"{self.customer_first_name} {self.customer_last_name}"

    @property
    def customer_email_masked(self) -> str:
        return mask_email(self.customer_email or "")

    @property
    def customer_phone_masked(self) -> str:
        return mask(self.customer_phone)

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATUSES

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES


def _quantity() -> models.DecimalField:
    # Decimal: a CEE quantity may be a surface (m²) as well as a count.
    return models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)


class InterventionService(models.Model):
    """A CEE operation performed, by its standard sheet (e.g. BAR-TH-173)."""

    intervention = models.ForeignKey(Intervention, verbose_name=_("intervention"),
                                     on_delete=models.CASCADE,
                                     related_name="services")
    code = models.CharField(_("code"), max_length=30, validators=[validate_single_line],
                            help_text=_("CEE standard operation sheet code."))
    name = models.CharField(_("name"), max_length=255, validators=[validate_single_line])
    quantity = _quantity()

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.code} × {self.quantity.normalize()}"


class InterventionEquipment(models.Model):
    intervention = models.ForeignKey(Intervention, verbose_name=_("intervention"),
                                     on_delete=models.CASCADE,
                                     related_name="equipment")
    name = models.CharField(_("name"), max_length=255, validators=[validate_single_line])
    model = models.CharField(_("model"), max_length=100, blank=True,
                             validators=[validate_single_line])
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True,
                                     validators=[validate_single_line])
    quantity = _quantity()

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.serial_number}".strip()


class InterventionDocument(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        ATTESTATION_HONNEUR = "attestation_honneur", _("Attestation sur l'honneur")
        CONTRACT = "contract", _("Contract")
        ADDITIONAL_PROOF = "additional_proof", _("Additional proof")

    class Verification(models.TextChoices):
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")
        OTHER = "other", _("Other (see the remote status)")

    intervention = models.ForeignKey(Intervention, verbose_name=_("intervention"),
                                     on_delete=models.CASCADE,
                                     related_name="documents")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=255, validators=[validate_single_line])
    # URLValidator refuses only tab and line breaks; other control characters
    # pass it.
    url = models.URLField(_("URL"), max_length=500, validators=[validate_single_line])
    verification_status = models.CharField(_("verification status"), max_length=10,
                                           choices=Verification.choices,
                                           default=Verification.PENDING)
    remote_verification_status = models.CharField(
        _("remote verification status"), max_length=40, blank=True,
        help_text=_("The verification status as Symphonics sent it."))
    verification_notes = models.TextField(_("verification notes"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True,
                                       help_text=_("When Symphonics decided (its event time)."))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True,
                                   help_text=_("When Symphonics received it; empty until then."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class InterventionPhoto(models.Model):
    class Kind(models.TextChoices):
        BEFORE = "before", _("Before")
        AFTER = "after", _("After")

    intervention = models.ForeignKey(Intervention, verbose_name=_("intervention"),
                                     on_delete=models.CASCADE,
                                     related_name="photos")
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    url = models.URLField(_("URL"), max_length=500, validators=[validate_single_line])
    # Optional here so that a photo without GPS or time can be stored and
    # named as the reason the intervention cannot be published.
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} photo #{self.pk}"


class InterventionStatusChange(models.Model):
    """One status Symphonics reported, in the order it happened at Symphonics."""

    class Source(models.TextChoices):
        PUBLISH = "publish", _("Publication answer")
        WEBHOOK = "webhook", _("Webhook")
        POLL = "poll", _("Status read (poll or refresh)")

    intervention = models.ForeignKey(Intervention, verbose_name=_("intervention"),
                                     on_delete=models.CASCADE,
                                     related_name="status_history")
    remote_status = models.CharField(_("remote status"), max_length=40)
    status = models.CharField(_("status"), max_length=16, choices=Intervention.Status.choices)
    previous_remote_status = models.CharField(_("previous remote status"), max_length=40,
                                              blank=True)
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    occurred_at = models.DateTimeField(_("occurred at"),
                                       help_text=_("When it happened at Symphonics."))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    applied = models.BooleanField(
        _("applied"), default=True,
        help_text=_("False when it arrived after a newer status and was kept for the record "
                    "only."))
    webhook_event = models.ForeignKey("core.WebhookEvent", verbose_name=_("webhook event"),
                                      null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        # Shown to managers (the intervention page's history rows): a sentence
        # of their language, at the reader's time with its zone named. The
        # status is Symphonics' own word, as reported.
        local = timezone.localtime(self.occurred_at)
        return gettext("%(status)s at %(time)s") % {
            "status": self.remote_status,
            "time": f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"}
