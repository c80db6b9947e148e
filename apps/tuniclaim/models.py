"""Care-claim batches imported from MY TUNICLAIM, and what the back-office decides on them.

A bordereau (batch) groups bulletins de soin (BS, one claim per care
episode), each with its care acts (items). The platform owns what it sent
(names, dates, amounts, its own status); the back-office owns the decisions
it takes (a BS's status and its payment), which a re-import never undoes.
Amounts are Tunisian dinars with three decimals (millimes).

Runs, the audit trail and attention items are the core's (`SyncRun`,
`SyncLog`, `AttentionItem`); nothing of that kind lives here.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField

# Dinars to the millime: 999,999,999.999 TND at most.
AMOUNT = {"max_digits": 12, "decimal_places": 3}
# The length of a SHA-256 in hex, as the core's bulk upsert stores it.
HASH_LENGTH = 64


class Client(models.Model):
    """An insurer or company whose claims ARS handles; known by its code, never by its name."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class Contract(models.Model):
    client = models.ForeignKey(Client, verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="contracts")
    number = models.CharField(_("number"), max_length=50)
    # Days: to pay a claim after its batch is received, and to contest it.
    settlement_days = models.PositiveIntegerField(_("settlement delay (days)"), default=5)
    claim_days = models.PositiveIntegerField(_("complaint delay (days)"), default=5)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["client", "number"]
        constraints = [models.UniqueConstraint(fields=["client", "number"],
                                               name="tuniclaim_contract_number_per_client")]

    def __str__(self) -> str:
        return self.number


class Bordereau(models.Model):
    """A batch of claims as the platform sent it: every field is the platform's."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        TO_SCAN = "to_scan", _("To scan")
        SCANNING = "scanning", _("Being scanned")
        SCANNED = "scanned", _("Scanned")
        TO_ASSIGN = "to_assign", _("To assign")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("Being processed")
        PROCESSED = "processed", _("Processed")
        CLOSED = "closed", _("Closed")
        IN_DIFFICULTY = "in_difficulty", _("In difficulty")
        PARTIAL = "partial", _("Partly processed")
        RETURNED = "returned", _("Returned")
        PAID = "paid", _("Paid")
        ON_HOLD = "on_hold", _("On hold")
        REJECTED = "rejected", _("Rejected")

    # The platform's id, used in its URLs; the reference is the natural key.
    external_id = models.CharField(_("MY TUNICLAIM ID"), max_length=64, unique=True)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    client = models.ForeignKey(Client, verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="bordereaux")
    contract = models.ForeignKey(Contract, verbose_name=_("contract"), on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="bordereaux")
    received_on = models.DateField(_("received on"))
    processing_deadline = models.DateField(
        _("processing deadline"), null=True, blank=True,
        help_text=_("Reception date plus the contract's settlement delay."))
    declared_claims = models.PositiveIntegerField(
        _("declared claims"), default=0, help_text=_("The number of claims the batch announces."))
    provider = models.CharField(_("provider"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    platform_status = models.CharField(_("status at MY TUNICLAIM"), max_length=50)
    platform_updated_at = models.DateTimeField(_("updated at MY TUNICLAIM"), null=True,
                                               blank=True)
    content_hash = models.CharField(max_length=HASH_LENGTH, editable=False)
    imported_at = models.DateTimeField(_("first imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("bordereau")
        verbose_name_plural = _("bordereaux")
        ordering = ["-received_on", "-pk"]
        indexes = [
            models.Index(fields=["client", "-received_on"], name="tuniclaim_bordereau_client"),
            models.Index(fields=["status", "-received_on"], name="tuniclaim_bordereau_status"),
            models.Index(fields=["-received_on", "-id"], name="tuniclaim_bordereau_recent"),
        ]

    def __str__(self) -> str:
        return self.reference


class BulletinSoin(models.Model):
    """One claim. The platform's fields are overwritten by each import;
    `status` and the payment fields are decided here and pushed back."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("Being processed")
        VALIDATED = "validated", _("Validated")
        REJECTED = "rejected", _("Rejected")
        ON_HOLD = "on_hold", _("On hold")
        RETURNED = "returned", _("Returned to the team lead")
        DELETED = "deleted", _("Deleted")

    class PaymentStatus(models.TextChoices):
        NOT_EXECUTED = "NON_EXECUTE", _("Not executed")
        IN_EXECUTION = "EN_COURS_EXECUTION", _("Being executed")
        PARTLY_EXECUTED = "EXECUTE_PARTIELLEMENT", _("Partly executed")
        REJECTED = "REJETE", _("Rejected")
        BLOCKED = "BLOQUE", _("Blocked")
        EXECUTED = "EXECUTE", _("Executed")

    bordereau = models.ForeignKey(Bordereau, verbose_name=_("bordereau"),
                                  on_delete=models.CASCADE, related_name="bulletins")
    number = models.CharField(_("BS number"), max_length=64)
    # The platform's side.
    insured_code = models.CharField(_("insured code"), max_length=64, db_index=True)
    # Health-claim personal data: encrypted at rest, masked when shown.
    insured_name = EncryptedTextField(_("insured name"), blank=True)
    beneficiary_name = EncryptedTextField(_("beneficiary name"), blank=True)
    relationship = models.CharField(_("relationship"), max_length=50, blank=True)
    created_on = models.DateField(_("created on"), null=True, blank=True)
    illness_date = models.DateField(_("illness date"), null=True, blank=True)
    company_name = models.CharField(_("company"), max_length=255, blank=True)
    amount_claimed = models.DecimalField(_("amount claimed"), default=0, **AMOUNT)
    amount_covered = models.DecimalField(_("amount covered"), default=0, **AMOUNT)
    platform_status = models.CharField(_("status at MY TUNICLAIM"), max_length=50)
    content_hash = models.CharField(max_length=HASH_LENGTH, editable=False)
    # Ours: the first import sets the status from the platform's; once a
    # manager decides (status_decided_at set), imports leave it alone.
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    status_decided_at = models.DateTimeField(_("status decided at"), null=True, blank=True)
    processed_by = models.CharField(_("processed by"), max_length=150, blank=True)
    payment_status = models.CharField(_("payment status"), max_length=25, blank=True,
                                      choices=PaymentStatus.choices)
    payment_date = models.DateField(_("payment date"), null=True, blank=True)
    payment_amount = models.DecimalField(_("amount paid"), null=True, blank=True, **AMOUNT)
    transfer_reference = models.CharField(_("transfer reference"), max_length=100, blank=True)
    imported_at = models.DateTimeField(_("first imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("bulletin de soin")
        verbose_name_plural = _("bulletins de soin")
        # By the id, not the batch's own ordering: that would sort every claim
        # through a join; this one reads along the unique index.
        ordering = ["bordereau_id", "number"]
        constraints = [models.UniqueConstraint(fields=["bordereau", "number"],
                                               name="tuniclaim_bs_number_per_bordereau")]
        indexes = [
            models.Index(fields=["status", "bordereau"], name="tuniclaim_bs_status"),
            models.Index(fields=["payment_status", "bordereau"], name="tuniclaim_bs_payment"),
            models.Index(fields=["-created_on", "-id"], name="tuniclaim_bs_recent"),
            # A claim is looked up by its number alone (search, the API).
            models.Index(fields=["number"], name="tuniclaim_bs_number"),
        ]

    def __str__(self) -> str:
        return self.number


class BulletinSoinItem(models.Model):
    """A care act of a claim; the set of a claim's items is replaced as a whole."""

    bulletin = models.ForeignKey(BulletinSoin, verbose_name=_("bulletin de soin"),
                                 on_delete=models.CASCADE, related_name="items")
    line_number = models.PositiveIntegerField(_("line"))
    product = models.CharField(_("act or product"), max_length=255, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=3, default=1)
    chapter = models.CharField(_("chapter"), max_length=100, blank=True)
    provider = models.CharField(_("provider"), max_length=255, blank=True)
    service_date = models.DateField(_("date of care"), null=True, blank=True)
    amount_claimed = models.DecimalField(_("amount claimed"), default=0, **AMOUNT)
    amount_covered = models.DecimalField(_("amount covered"), default=0, **AMOUNT)
    member_share = models.DecimalField(_("member's share"), default=0, **AMOUNT)
    message_code = models.CharField(_("message code"), max_length=50, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("care act")
        verbose_name_plural = _("care acts")
        ordering = ["bulletin_id", "line_number"]
        constraints = [models.UniqueConstraint(fields=["bulletin", "line_number"],
                                               name="tuniclaim_item_line_per_bs")]

    def __str__(self) -> str:
        return gettext("Line %(number)d") % {"number": self.line_number}


class QuarantinedRecord(models.Model):
    """A record an import could not take, kept as received with the reason,
    until a later import takes it (or a manager's "retry import" does)."""

    class Kind(models.TextChoices):
        BORDEREAU = "bordereau", _("Bordereau")
        BULLETIN = "bulletin", _("Bulletin de soin")

    class Reason(models.TextChoices):
        MISSING_KEY = "missing_key", _("No reference or number")
        MISSING_CLIENT = "missing_client", _("No client code")
        UNKNOWN_STATUS = "unknown_status", _("Unknown status")
        BAD_AMOUNT = "bad_amount", _("Unreadable amount")
        BAD_DATE = "bad_date", _("Unreadable date")
        BAD_RECORD = "bad_record", _("Unreadable record")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # Where to fetch it again: the platform's bordereau id (a BS is fetched
    # with its batch), and the record's own key when it has one.
    bordereau_external_id = models.CharField(_("MY TUNICLAIM bordereau ID"), max_length=64)
    record_key = models.CharField(_("record"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    payload = models.JSONField(_("record as received"))
    run = models.ForeignKey("core.SyncRun", verbose_name=_("last seen in run"), null=True,
                            blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen_at = models.DateTimeField(_("first seen at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    released_at = models.DateTimeField(
        _("released at"), null=True, blank=True,
        help_text=_("When an import took the record after all."))

    class Meta:
        verbose_name = _("quarantined record")
        verbose_name_plural = _("quarantined records")
        ordering = ["-last_seen_at"]
        constraints = [
            # One open entry per record: seen again, it is refreshed, not repeated.
            models.UniqueConstraint(fields=["kind", "bordereau_external_id", "record_key"],
                                    condition=models.Q(released_at__isnull=True),
                                    name="tuniclaim_quarantine_open_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.record_key or self.bordereau_external_id}"
