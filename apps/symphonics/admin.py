"""The managers' Symphonics back-office: interventions, their documents and exchanges."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin import pretty
from apps.core.admin_attention import AttentionColumnMixin, NeedsAttentionFilter
from apps.core.admin_display import (
    EMPTY,
    OPERATION_TONES,
    SYNCLOG_TONES,
    WEBHOOK_TONES,
    audit_rows_url,
    choice_badge,
    local_time,
    masked_column,
    masked_value,
    register_entity,
    register_event_subjects,
    related_links,
    status_badge,
    time_column,
    webhook_events_url,
)
from apps.core.admin_tools import (
    AutoRefreshMixin,
    BigTableAdmin,
    ObjectAction,
    ObjectActionsMixin,
    confirmed_service_action,
    run_service_action,
)
from apps.core.fields import EncryptedTextField
from apps.core.models import WebhookEvent
from apps.core.models.attention import stored_text
from apps.core.operations import operation_retry_now
from apps.core.redaction import redact_body
from apps.symphonics import services
from apps.symphonics.client import PLATFORM
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
    intervention_retryable_operations,
)

Status = Intervention.Status
STATUS_TONES = {
    Status.READY: "muted", Status.PUBLISHING: "pending", Status.PUBLISH_FAILED: "error",
    Status.CREATED: "pending", Status.PROCESSING: "pending", Status.PROOF_REQUIRED: "warning",
    Status.APPROVED: "ok", Status.REJECTED: "error", Status.OTHER: "warning",
}
VERIFICATION_TONES = {"pending": "pending", "verified": "ok", "rejected": "error",
                      "other": "warning"}
# How many of an intervention's webhook events its page shows; the rest are a link away.
LAST_WEBHOOKS = 5


def _status_webhook_events(external_id: str):
    """The webhook events that moved this intervention's status (its history keeps them)."""
    return (InterventionStatusChange.objects
            .filter(intervention__external_id=external_id, webhook_event__isnull=False)
            .values("webhook_event_id"))


def _event_subjects(event: WebhookEvent) -> list[tuple[str, str]]:
    """The intervention a Symphonics event names (its body's external_id), if it names one."""
    try:
        data = json.loads(event.body).get("data")
    except (ValueError, AttributeError):
        return []
    external_id = str(data.get("external_id") or "") if isinstance(data, dict) else ""
    return [(ENTITY_TYPE, external_id)] if external_id else []


# Operations and audit rows name an intervention by its external id.
register_entity(ENTITY_TYPE, model=Intervention, id_field="external_id",
                events_of=_status_webhook_events)
register_event_subjects(PLATFORM, _event_subjects)


def status_badge_of(intervention: Intervention) -> str:
    return choice_badge(intervention, "status", STATUS_TONES)


def verification_badge(document: InterventionDocument) -> str:
    if document.sent_at is None and document.verification_status == "pending":
        return status_badge("not_sent", _("not sent yet"), "muted")
    return choice_badge(document, "verification_status", VERIFICATION_TONES)


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
    fields = ("kind", "name", "url", "verification", "verification_notes", "verified", "sent")
    readonly_fields = ("verification", "verification_notes", "verified", "sent")

    verified = time_column("verified_at", _("verified at"))
    sent = time_column("sent_at", _("sent at"))

    @admin.display(description=_("verification"))
    def verification(self, document: InterventionDocument) -> str:
        if document.pk is None:
            return EMPTY
        received = document.remote_verification_status
        shown = verification_badge(document)
        if received and received != document.verification_status:
            return format_html("{} <code>{}</code>", shown, received)
        return shown


class PhotoInline(EditableWhileLocalInline):
    model = InterventionPhoto
    fields = ("kind", "url", "latitude", "longitude", "taken_at")
    readonly_fields = ("taken",)

    taken = time_column("taken_at", _("taken at"))

    def get_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            # A record now: the time shown in the reader's zone, with the zone.
            return ("kind", "url", "latitude", "longitude", "taken")
        return self.fields


class StatusHistoryInline(admin.TabularInline):
    model = InterventionStatusChange
    verbose_name_plural = _("status history (as Symphonics reported it)")
    extra = 0
    can_delete = False
    fields = ("occurred", "remote_status", "previous_remote_status", "notes_text", "source",
              "applied", "event")
    readonly_fields = fields
    ordering = ("occurred_at", "pk")

    occurred = time_column("occurred_at", _("occurred at"))

    @admin.display(description=_("notes"))
    def notes_text(self, change: InterventionStatusChange) -> str:
        # The hub's notes are English source texts, shown in the reader's language.
        return stored_text(change.notes) or EMPTY

    @admin.display(description=_("webhook"))
    def event(self, change: InterventionStatusChange) -> str:
        if change.webhook_event_id is None:
            return EMPTY
        url = reverse("admin:core_webhookevent_change", args=[change.webhook_event_id])
        return format_html('<a href="{}">{}</a>', url,
                           gettext("event #%(id)s") % {"id": change.webhook_event_id})

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AddProofForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=InterventionDocument.Kind.choices,
                             initial=InterventionDocument.Kind.ADDITIONAL_PROOF)
    name = forms.CharField(label=_("name"), max_length=255,
                           help_text=_("e.g. Preuve supplémentaire - Martin"))
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         help_text=_("Where Symphonics can download it."))


class WriteOnlyEmailInput(forms.EmailInput):
    """Never renders a value back, not even the one typed before an error elsewhere."""

    def format_value(self, value):
        return None


class WriteOnlyTextInput(forms.TextInput):
    def format_value(self, value):
        return None


def _replacement_field(label, help_text, widget: forms.Widget) -> forms.CharField:
    return forms.CharField(label=label, required=False, strip=True, widget=widget,
                           help_text=help_text)


class InterventionForm(forms.ModelForm):
    """The customer's e-mail and phone are never written back into the page:
    the page shows them masked, as the list does, and a new value typed here
    replaces the stored one (validated as the model validates it)."""

    new_customer_email = _replacement_field(
        _("replace the e-mail"), _("Type to correct it; leave empty to keep the stored one."),
        WriteOnlyEmailInput(attrs={"autocomplete": "off"}))
    new_customer_phone = _replacement_field(
        _("replace the phone"),
        _("E.164, e.g. +33612345678. Type to correct it; leave empty to keep the stored one."),
        WriteOnlyTextInput(attrs={"autocomplete": "off"}))

    class Meta:
        model = Intervention
        fields: list[str] = []

    def _replacement(self, name: str, model_field: str) -> str:
        value = self.cleaned_data.get(name, "")
        if value:
            # The model's own validators (e-mail, French phone, one line).
            Intervention._meta.get_field(model_field).run_validators(value)
        return value

    def clean_new_customer_email(self) -> str:
        return self._replacement("new_customer_email", "customer_email")

    def clean_new_customer_phone(self) -> str:
        return self._replacement("new_customer_phone", "customer_phone")

    def clean(self):
        cleaned = super().clean()
        for name, model_field in (("new_customer_email", "customer_email"),
                                  ("new_customer_phone", "customer_phone")):
            if cleaned.get(name):
                setattr(self.instance, model_field, cleaned[name])
        return cleaned


# -- domain actions (object page and list) ---------------------------------------------------

def _not_publishable(intervention: Intervention) -> str:
    if intervention.is_final:
        return gettext("Symphonics has already decided on it.")
    if intervention.symphonics_id:
        return gettext("Symphonics already has it.")
    if intervention.status == Status.PUBLISHING:
        return gettext("It is being published.")
    return ""


def _nothing_to_retry(intervention: Intervention) -> str:
    if intervention_retryable_operations(intervention=intervention):
        return ""
    return gettext("Nothing to retry: none of its operations has failed.")


def _retry_now(intervention: Intervention, data: dict, user) -> int:
    operations = intervention_retryable_operations(intervention=intervention)
    for operation in operations:
        if (operation.pk == intervention.publish_operation_id
                and intervention.status == Status.PUBLISH_FAILED):
            # Publishing again checks the data anew and marks it "being published".
            services.intervention_publish(intervention=intervention)
        else:
            operation_retry_now(operation=operation)
    return len(operations)


def _not_refreshable(intervention: Intervention) -> str:
    return "" if intervention.symphonics_id else gettext("Symphonics does not have it yet.")


PUBLISH = ObjectAction(
    name="publish", label=_("Publish to Symphonics"),
    service=lambda obj, data, user: services.intervention_publish(intervention=obj),
    success=_("{count} intervention(s) published or on their way."),
    unavailable=_not_publishable, hide_when_unavailable=True,
    consequence=lambda obj: gettext(
        "The intervention %(id)s, its documents and photos are created at Symphonics.")
    % {"id": obj.external_id})
RETRY_NOW = ObjectAction(
    name="retry_now", label=_("Retry now"), service=_retry_now,
    success=_("{count} intervention(s): their failed operations are sent again now."),
    unavailable=_nothing_to_retry)
REFRESH = ObjectAction(
    name="refresh_status", label=_("Refresh the status from Symphonics"),
    service=lambda obj, data, user: services.intervention_refresh(intervention=obj),
    success=_("{count} status(es) refreshed."), unavailable=_not_refreshable)


@admin.register(Intervention)
class InterventionAdmin(ObjectActionsMixin, AutoRefreshMixin, AttentionColumnMixin,
                        BigTableAdmin):
    form = InterventionForm
    list_display = ("external_id", "customer", "city", "status_badge", "remote_status",
                    "documents_summary", "symphonics_id", "pdl_check", "attention",
                    "completion")
    list_filter = ("status", NeedsAttentionFilter, "pdl_valid")
    search_fields = ("=external_id", "=symphonics_id", "=pdl", "customer_last_name")
    date_hierarchy = "completion_date"
    # Encrypted text fields hold one-line values (an e-mail, a phone).
    formfield_overrides = {EncryptedTextField: {"widget": forms.TextInput}}
    inlines = [ServiceInline, EquipmentInline, DocumentInline, PhotoInline, StatusHistoryInline]
    object_actions = (PUBLISH, RETRY_NOW, REFRESH)
    actions = ["validate_pdl", "add_proof"]
    # What the hub and Symphonics decide, and what is shown masked; never typed in here.
    always_readonly = ("status_badge", "remote_status", "remote_status_time", "symphonics_id",
                       "next_steps", "attention", "last_error", "customer_email_shown",
                       "customer_phone_shown", "pdl_valid", "pdl_checked",
                       "pdl_check_message", "see_also", "publication", "webhooks",
                       "exchanges", "payload_preview", "created", "published", "synced",
                       "completion")

    # The change page shows these as the list's customer column does.
    customer_email_shown = masked_column("customer_email", _("customer e-mail"), kind="email")
    customer_phone_shown = masked_column("customer_phone", _("customer phone"))
    completion = time_column("completion_date", _("completion date"))
    remote_status_time = time_column("remote_status_at", _("remote status at"))
    pdl_checked = time_column("pdl_checked_at", _("PDL checked at"))
    created = time_column("created_at", _("created"))
    published = time_column("published_at", _("published"))
    synced = time_column("synced_at", _("synced"))

    def get_fieldsets(self, request, obj=None):
        editable = obj is None or obj.is_editable
        customer = ["customer_first_name", "customer_last_name", "customer_email_shown",
                    "customer_phone_shown"]
        if editable:
            customer += ["new_customer_email", "new_customer_phone"]
        return [
            (None, {"fields": ["external_id", "status_badge", "remote_status",
                               "remote_status_time", "symphonics_id", "next_steps",
                               "attention", "last_error"]}),
            (_("Customer"), {"fields": customer}),
            (_("Installation"), {"fields": ["address", "postal_code", "city", "pdl", "pce",
                                            "pdl_valid", "pdl_checked", "pdl_check_message"]}),
            (_("Work"), {"fields": ["installer_user_id", "installer_company_id",
                                    "installer_name",
                                    "completion_date" if editable else "completion",
                                    "connection"]}),
            (_("Exchanges with Symphonics"), {"fields": [
                "see_also", "publication", "webhooks", "exchanges", "payload_preview",
                "created", "published", "synced"]}),
        ]

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
            return [name for _, options in self.get_fieldsets(request, obj)
                    for name in options["fields"]]
        return self.always_readonly

    def has_add_permission(self, request) -> bool:
        # Interventions come from the field app (the API), complete with their proofs.
        return False

    def save_model(self, request, obj, form, change):
        # Only changes reach this (there is no add page); the service checks
        # the intervention may still be corrected and saves it.
        changes = {name: form.cleaned_data[name] for name in form.changed_data
                   if name in services.INTERVENTION_CORRECTABLE_FIELDS}
        for typed, field in (("new_customer_email", "customer_email"),
                             ("new_customer_phone", "customer_phone")):
            if form.cleaned_data.get(typed):
                changes[field] = form.cleaned_data[typed]
        services.intervention_update(intervention=obj, changes=changes)

    def pending(self, obj: Intervention) -> bool:
        # Refreshed while the creation is on its way; Symphonics' own
        # verification takes days and arrives by webhook.
        return obj.status == Status.PUBLISHING

    # -- columns --------------------------------------------------------------------
    @admin.display(description=_("customer"), ordering="customer_last_name")
    def customer(self, obj: Intervention) -> str:
        return format_html("{}<br><small>{} · {}</small>", obj.customer_name,
                           masked_value(obj.customer_email, kind="email"),
                           masked_value(obj.customer_phone))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Intervention) -> str:
        return status_badge_of(obj)

    @admin.display(description=_("documents"))
    def documents_summary(self, obj: Intervention) -> str:
        total = getattr(obj, "documents_total", None)
        if total is None:
            return EMPTY
        verified = gettext("%(verified)s / %(total)s verified") % {
            "verified": obj.documents_verified, "total": total}
        if not obj.documents_rejected:
            return verified
        return format_html("{}, {}", verified, status_badge(
            "rejected", gettext("%(count)s rejected") % {"count": obj.documents_rejected},
            "error"))

    @admin.display(description=_("PDL"), ordering="pdl_valid")
    def pdl_check(self, obj: Intervention) -> str:
        if obj.pdl_valid is None:
            return format_html('<span title="{}">{} ?</span>', gettext("not checked"), obj.pdl)
        mark = "✔" if obj.pdl_valid else "✘"
        return format_html('<span title="{}">{} {}</span>', obj.pdl_check_message, obj.pdl, mark)

    @admin.display(description=_("see also"))
    def see_also(self, obj: Intervention) -> str:
        return related_links(obj)

    @admin.display(description=_("publication"))
    def publication(self, obj: Intervention) -> str:
        operation = obj.publish_operation
        if operation is None:
            return gettext("Not published yet.")
        url = reverse("admin:core_outboundoperation_change", args=[operation.pk])
        details = format_html(
            '{} <a href="{}">{}</a> · {}',
            choice_badge(operation, "state", OPERATION_TONES), url,
            gettext("operation #%(id)s") % {"id": operation.pk},
            gettext("%(count)s attempt(s)") % {"count": operation.attempts})
        if operation.next_attempt_at and operation.is_open:
            details = format_html("{} · {} {}", details, gettext("next attempt"),
                                  local_time(operation.next_attempt_at))
        if operation.last_error:
            details = format_html('{}<br><span class="hub-error">{}</span>', details,
                                  operation.last_error[:300])
        return format_html('{} · <a href="{}">{}</a>', details,
                           audit_rows_url(operation=operation), gettext("its audit rows"))

    @admin.display(description=_("webhooks from Symphonics"))
    def webhooks(self, obj: Intervention) -> str:
        changes = (obj.status_history.filter(webhook_event__isnull=False)
                   .select_related("webhook_event").order_by("-recorded_at", "-pk")
                   [:LAST_WEBHOOKS])
        rows = format_html_join("", (
            '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>'), (
            (local_time(change.webhook_event.received_at),
             reverse("admin:core_webhookevent_change", args=[change.webhook_event_id]),
             change.webhook_event.event_type or change.webhook_event_id,
             choice_badge(change.webhook_event, "status", WEBHOOK_TONES),
             change.remote_status)
            for change in changes))
        return format_html(
            '<table class="hub-related"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>'
            '{}</table><p><a href="{}">{}</a></p>',
            gettext("received"), gettext("event"), gettext("processing"),
            gettext("status it carried"),
            rows or format_html('<tr><td colspan="4">{}</td></tr>', gettext("none yet")),
            webhook_events_url(ENTITY_TYPE, obj.external_id),
            gettext("All webhook events of this intervention →"))

    @admin.display(description=_("calls to Symphonics"))
    def exchanges(self, obj: Intervention) -> str:
        rows = intervention_exchanges(obj)
        table = format_html_join("", (
            '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{} {}</td>'
            "<td><code>{}</code></td><td>{}</td></tr>"), (
            (local_time(row.created_at),
             reverse("admin:core_synclog_change", args=[row.pk]), row.action,
             choice_badge(row, "status", SYNCLOG_TONES), row.http_method,
             row.http_status or "", row.remote_request_id, row.error[:120])
            for row in rows))
        return format_html(
            '<table class="hub-related"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr>{}</table>"
            '<p><a href="{}">{}</a></p>',
            gettext("when"), gettext("action (request and response)"), gettext("status"),
            gettext("HTTP"), gettext("Symphonics request id"), gettext("error"),
            table or format_html('<tr><td colspan="6">{}</td></tr>', gettext("none yet")),
            audit_rows_url(ENTITY_TYPE, obj.external_id),
            gettext("All exchanges of this intervention →"))

    @admin.display(description=_("payload to be sent"))
    def payload_preview(self, obj: Intervention) -> str:
        if not obj.is_editable:
            return gettext("Sent: see the calls above (request bodies, personal data masked).")
        payload, _ids = intervention_create_payload(obj)
        # Masked as the audit trail masks the request body once it is sent.
        return pretty(redact_body(json.dumps(payload, ensure_ascii=False), "application/json",
                                  secrets=(obj.customer_email, obj.customer_phone)))

    # -- list-only actions ------------------------------------------------------------
    @admin.action(description=_("Validate the PDL with Symphonics"), permissions=["change"])
    def validate_pdl(self, request, queryset):
        def report(obj: Intervention, check) -> None:
            obj.refresh_from_db(fields=["pdl_check_message"])
            self.message_user(request, gettext("%(intervention)s: PDL %(pdl)s — %(answer)s") % {
                "intervention": obj.external_id, "pdl": obj.pdl,
                "answer": stored_text(obj.pdl_check_message)},
                              messages.SUCCESS if check.valid else messages.WARNING)

        run_service_action(self, request, queryset,
                           lambda obj: services.intervention_check_pdl(intervention=obj),
                           None, report=report)

    @admin.action(description=_("Add a proof document…"), permissions=["change"])
    def add_proof(self, request, queryset):
        return confirmed_service_action(
            self, request, queryset, action="add_proof", form_class=AddProofForm,
            service=lambda obj, document: services.intervention_add_documents(
                intervention=obj, documents=[dict(document)]),
            success=_("Document added to {count} intervention(s); it is sent to Symphonics."),
            title=_("Add a proof document"),
            template="admin/symphonics/add_proof.html")
