"""The managers' Symphonics back-office: interventions, their documents and exchanges."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from apps.core.admin import badge, pretty
from apps.core.admin_attention import AttentionColumnMixin, NeedsAttentionFilter
from apps.core.admin_tools import BigTableAdmin, confirmed_service_action, run_service_action
from apps.core.fields import EncryptedTextField
from apps.symphonics import services
from apps.symphonics.models import (
    Intervention,
    InterventionDocument,
    InterventionEquipment,
    InterventionPhoto,
    InterventionService,
    InterventionStatusChange,
)
from apps.symphonics.selectors import (
    ENTITY_TYPE,
    intervention_create_payload,
    intervention_exchanges,
)

Status = Intervention.Status
# Colours of the core's badges, by our statuses.
STATUS_COLOURS = {
    Status.READY: "skipped", Status.PUBLISHING: "retry", Status.PUBLISH_FAILED: "failed",
    Status.CREATED: "retry", Status.PROCESSING: "retry", Status.PROOF_REQUIRED: "conflict",
    Status.APPROVED: "success", Status.REJECTED: "failed", Status.OTHER: "conflict",
}
VERIFICATION_COLOURS = {"pending": "retry", "verified": "success", "rejected": "failed",
                        "other": "conflict"}


def status_badge(status: str, label: str) -> str:
    return badge(STATUS_COLOURS.get(status, "retry"), label)


def verification_badge(document: InterventionDocument) -> str:
    if document.sent_at is None and document.verification_status == "pending":
        return badge("skipped", "not sent yet")
    return badge(VERIFICATION_COLOURS.get(document.verification_status, "retry"),
                 document.get_verification_status_display())


class EditableWhileLocalInline(admin.TabularInline):
    """Rows can change until Symphonics has the intervention; then they are a record."""

    extra = 0
    # Links typed without a scheme are taken as https, as Django 6 will.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request, obj=None) -> bool:
        return (obj is None or obj.is_editable) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return (obj is None or obj.is_editable) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return (obj is None or obj.is_editable) and super().has_delete_permission(request, obj)


class ServiceInline(EditableWhileLocalInline):
    model = InterventionService
    fields = ("code", "name", "quantity")


class EquipmentInline(EditableWhileLocalInline):
    model = InterventionEquipment
    fields = ("name", "model", "serial_number", "quantity")


class DocumentInline(EditableWhileLocalInline):
    model = InterventionDocument
    fields = ("kind", "name", "url", "verification", "verification_notes", "verified_at",
              "sent_at")
    readonly_fields = ("verification", "verification_notes", "verified_at", "sent_at")

    @admin.display(description="verification")
    def verification(self, document: InterventionDocument) -> str:
        if document.pk is None:
            return "—"
        received = document.remote_verification_status
        shown = verification_badge(document)
        if received and received != document.verification_status:
            return format_html("{} <code>{}</code>", shown, received)
        return shown


class PhotoInline(EditableWhileLocalInline):
    model = InterventionPhoto
    fields = ("kind", "url", "latitude", "longitude", "taken_at")


class StatusHistoryInline(admin.TabularInline):
    model = InterventionStatusChange
    verbose_name_plural = "status history (as Symphonics reported it)"
    extra = 0
    can_delete = False
    fields = ("occurred_at", "remote_status", "previous_remote_status", "notes", "source",
              "applied", "event")
    readonly_fields = fields
    ordering = ("occurred_at", "pk")

    @admin.display(description="webhook")
    def event(self, change: InterventionStatusChange) -> str:
        if change.webhook_event_id is None:
            return "—"
        url = reverse("admin:core_webhookevent_change", args=[change.webhook_event_id])
        return format_html('<a href="{}">event #{}</a>', url, change.webhook_event_id)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AddProofForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=InterventionDocument.Kind.choices,
                             initial=InterventionDocument.Kind.ADDITIONAL_PROOF)
    name = forms.CharField(max_length=255, help_text="e.g. Preuve supplémentaire - Martin")
    url = forms.URLField(max_length=500, assume_scheme="https",
                         help_text="Where Symphonics can download it.")


@admin.register(Intervention)
class InterventionAdmin(AttentionColumnMixin, BigTableAdmin):
    list_display = ("external_id", "customer", "city", "status_badge", "remote_status",
                    "documents_summary", "symphonics_id", "pdl_check", "attention",
                    "completion_date")
    list_filter = ("status", NeedsAttentionFilter, "pdl_valid")
    search_fields = ("=external_id", "=symphonics_id", "=pdl", "customer_last_name")
    date_hierarchy = "completion_date"
    # Encrypted text fields hold one-line values (an e-mail, a phone).
    formfield_overrides = {EncryptedTextField: {"widget": forms.TextInput}}
    inlines = [ServiceInline, EquipmentInline, DocumentInline, PhotoInline, StatusHistoryInline]
    actions = ["publish", "refresh_status", "validate_pdl", "add_proof"]
    fieldsets = [
        (None, {"fields": ("external_id", "status_badge", "remote_status", "remote_status_at",
                           "symphonics_id", "next_steps", "attention", "last_error")}),
        ("Customer", {"fields": ("customer_first_name", "customer_last_name",
                                 "customer_email", "customer_phone")}),
        ("Installation", {"fields": ("address", "postal_code", "city", "pdl", "pce",
                                     "pdl_valid", "pdl_checked_at", "pdl_check_message")}),
        ("Work", {"fields": ("installer_user_id", "installer_company_id", "installer_name",
                             "completion_date", "connection")}),
        ("Exchanges with Symphonics", {"fields": ("exchanges", "payload_preview",
                                                  "publish_operation", "created_at",
                                                  "published_at", "synced_at")}),
    ]
    # What the hub and Symphonics decide; never typed in by hand.
    always_readonly = ("status_badge", "remote_status", "remote_status_at", "symphonics_id",
                       "next_steps", "attention", "last_error", "pdl_valid", "pdl_checked_at",
                       "pdl_check_message", "exchanges", "payload_preview",
                       "publish_operation", "created_at", "published_at", "synced_at")

    def get_queryset(self, request):
        # Document counts annotated: no query per row of the change list.
        documents = "documents__verification_status"
        return super().get_queryset(request).annotate(
            documents_total=Count("documents"),
            documents_verified=Count("documents", filter=Q(**{documents: "verified"})),
            documents_rejected=Count("documents", filter=Q(**{documents: "rejected"})),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            # Symphonics has it: the record shows what was sent.
            return [name for _, options in self.fieldsets for name in options["fields"]]
        return self.always_readonly

    def has_add_permission(self, request) -> bool:
        # Interventions come from the field app (the API), complete with their proofs.
        return False

    # -- columns --------------------------------------------------------------------
    @admin.display(description="customer", ordering="customer_last_name")
    def customer(self, obj: Intervention) -> str:
        return format_html("{}<br><small>{}</small>", obj.customer_name,
                           obj.customer_email_masked)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Intervention) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="documents")
    def documents_summary(self, obj: Intervention) -> str:
        total = getattr(obj, "documents_total", None)
        if total is None:
            return "—"
        return format_html("{} / {} verified{}", obj.documents_verified, total,
                           format_html(", <b style='color:#cf222e'>{} rejected</b>",
                                       obj.documents_rejected) if obj.documents_rejected else "")

    @admin.display(description="PDL", ordering="pdl_valid")
    def pdl_check(self, obj: Intervention) -> str:
        if obj.pdl_valid is None:
            return format_html("<span title='not checked'>{} ?</span>", obj.pdl)
        mark = "✔" if obj.pdl_valid else "✘"
        return format_html('<span title="{}">{} {}</span>', obj.pdl_check_message, obj.pdl, mark)

    @admin.display(description="calls to Symphonics")
    def exchanges(self, obj: Intervention) -> str:
        rows = intervention_exchanges(obj)
        link = reverse("admin:core_synclog_changelist") + "?" + urlencode(
            {"entity_type": ENTITY_TYPE, "entity_id": obj.external_id})
        table = format_html_join("", (
            "<tr><td>{}</td><td><a href='{}'>{}</a></td><td>{}</td><td>{} {}</td>"
            "<td><code>{}</code></td><td>{}</td></tr>"), (
            (f"{row.created_at:%Y-%m-%d %H:%M:%S}",
             reverse("admin:core_synclog_change", args=[row.pk]), row.action,
             badge(row.status), row.http_method, row.http_status or "",
             row.remote_request_id, row.error[:120])
            for row in rows))
        return format_html(
            "<table><tr><th>when</th><th>action (request and response)</th><th>status</th>"
            "<th>HTTP</th><th>Symphonics request id</th><th>error</th></tr>{}</table>"
            '<p><a href="{}">All exchanges of this intervention →</a></p>',
            table or format_html("<tr><td colspan=6>{}</td></tr>", "none yet"), link)

    @admin.display(description="payload to be sent")
    def payload_preview(self, obj: Intervention) -> str:
        if not obj.is_editable:
            return "Sent: see the calls above (request bodies, personal data masked)."
        payload, _ = intervention_create_payload(obj)
        return pretty(json.dumps(payload, ensure_ascii=False))

    # -- actions --------------------------------------------------------------------
    @admin.action(description="Publish to Symphonics", permissions=["change"])
    def publish(self, request, queryset):
        run_service_action(self, request, queryset,
                           lambda obj: services.intervention_publish(intervention=obj),
                           "{count} intervention(s) published or on their way.")

    @admin.action(description="Refresh the status from Symphonics", permissions=["change"])
    def refresh_status(self, request, queryset):
        run_service_action(self, request, queryset,
                           lambda obj: services.intervention_refresh(intervention=obj),
                           "{count} status(es) refreshed.")

    @admin.action(description="Validate the PDL with Symphonics", permissions=["change"])
    def validate_pdl(self, request, queryset):
        def report(obj: Intervention, check) -> None:
            obj.refresh_from_db(fields=["pdl_check_message"])
            self.message_user(request, f"{obj.external_id}: PDL {obj.pdl} — "
                                       f"{obj.pdl_check_message}",
                              messages.SUCCESS if check.valid else messages.WARNING)

        run_service_action(self, request, queryset,
                           lambda obj: services.intervention_check_pdl(intervention=obj),
                           None, report=report)

    @admin.action(description="Add a proof document…", permissions=["change"])
    def add_proof(self, request, queryset):
        return confirmed_service_action(
            self, request, queryset, action="add_proof", form_class=AddProofForm,
            service=lambda obj, document: services.intervention_add_documents(
                intervention=obj, documents=[dict(document)]),
            success=_("Document added to {count} intervention(s); it is sent to Symphonics."),
            title=_("Add a proof document"),
            template="admin/symphonics/add_proof.html")
