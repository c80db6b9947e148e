"""Back-office for outgoing webhooks: endpoints and their deliveries.

The signing secret and the custom headers are write-only (typed to set or
replace, shown back masked); every change goes through the services, whose
rules (public addresses only, known event types, retry bounds) are the
form's errors. A delivery's page lists its attempts (audit rows) and offers
"Redeliver", which sends it again under the same message id.
"""

from __future__ import annotations

import contextlib
import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import (
    OPERATION_TONES,
    SYNCLOG_TONES,
    admin_change_link,
    audit_rows_url,
    changelist_url,
    choice_badge,
    local_time,
    masked_value,
    short_text,
    status_badge,
    time_column,
)
from apps.core.admin_tools import (
    ActionsOnlyAdmin,
    AutoRefreshMixin,
    ObjectAction,
    ObjectActionsMixin,
)
from apps.core.errors import ServiceError
from apps.core.models import CredentialsUnreadable, WebhookDelivery, WebhookEndpoint
from apps.core.outgoing import (
    delivery_attempts,
    delivery_redeliver,
    endpoint_check,
    endpoint_create,
    endpoint_enable,
    endpoint_update,
    next_attempt_at,
    webhook_event_types,
)
from apps.core.redaction import redact_body

DELIVERY_TONES = {
    WebhookDelivery.Status.PENDING: "pending",
    WebhookDelivery.Status.SUCCEEDED: "ok",
    WebhookDelivery.Status.FAILED: "warning",
    WebhookDelivery.Status.DEAD: "error",
}


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value back, not even after an error on another field."""

    def format_value(self, value):
        return None


def _event_type_choices() -> list[tuple[str, str]]:
    return [(t.name, f"{t.name} ({t.domain})") for t in webhook_event_types()]


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=capfirst(_("event types")), choices=_event_type_choices,
        widget=forms.CheckboxSelectMultiple)
    filters = forms.JSONField(
        label=capfirst(_("filters")), required=False,
        help_text=_('e.g. {"eventTypes": ["training", "conference"]}; only the filters the '
                    'chosen event types declare.'))
    new_headers = forms.JSONField(
        label=capfirst(_("custom headers")), required=False,
        widget=WriteOnlyTextarea(attrs={"rows": 3}),
        help_text=_('A JSON object, e.g. {"Authorization": "Bearer ..."}. Stored encrypted; '
                    'type to replace them all, leave empty to keep what is stored.'))
    clear_headers = forms.BooleanField(label=capfirst(_("remove the custom headers")),
                                       required=False)
    new_secret = forms.CharField(
        label=capfirst(_("signing secret")), required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("\"whsec_\" and base64 (Standard Webhooks). Empty: a new endpoint gets a "
                    "random one, an existing one keeps its own."))

    # A service error's field -> the form's field that shows it.
    FIELD_OF = {"headers": "new_headers", "secret": "new_secret"}

    class Meta:
        model = WebhookEndpoint
        fields = ["tenant_type", "tenant_id", "url", "description", "event_types", "filters",
                  "max_retries", "backoff_multiplier"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        stored_headers: dict[str, str] = {}
        if self.instance.pk and not cleaned.get("clear_headers"):
            try:
                stored_headers = self.instance.headers()
            except CredentialsUnreadable as exc:
                self.add_error("new_headers", str(exc))
                return cleaned
        headers = cleaned.get("new_headers") or stored_headers
        if cleaned.get("clear_headers"):
            headers = {}
        try:
            endpoint_check(url=cleaned.get("url"), event_types=cleaned.get("event_types"),
                           filters=cleaned.get("filters") or {}, headers=headers,
                           secret=cleaned.get("new_secret") or "",
                           max_retries=cleaned.get("max_retries"),
                           backoff_multiplier=cleaned.get("backoff_multiplier"))
        except ServiceError as exc:
            placed = False
            for field, messages in (exc.details or {}).items():
                target = self.FIELD_OF.get(field, field)
                if target in self.fields and isinstance(messages, list):
                    for message in messages:
                        self.add_error(target, str(message))
                        placed = True
            if not placed:
                self.add_error(None, exc.message)
        return cleaned

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {"url": data["url"], "event_types": data["event_types"],
                  "description": data.get("description") or "",
                  "filters": data.get("filters") or {}, "max_retries": data["max_retries"],
                  "backoff_multiplier": data["backoff_multiplier"]}
        if data.get("clear_headers"):
            values["headers"] = {}
        elif data.get("new_headers"):
            values["headers"] = data["new_headers"]
        if data.get("new_secret"):
            values["secret"] = data["new_secret"]
        return values


def _not_enableable(endpoint: WebhookEndpoint) -> str:
    return _("the endpoint is active") if endpoint.is_active else ""


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ObjectActionsMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "tenant", "event_list", "state_badge", "consecutive_failures",
                    "last_success", "last_failure")
    list_filter = ("is_active", "tenant_type")
    search_fields = ("url", "description", "=tenant_id")
    list_per_page = 50
    readonly_fields = ("state_badge", "disabled", "disabled_reason", "consecutive_failures",
                       "last_success", "last_failure", "stored_secret", "stored_headers",
                       "see_also", "created", "updated")
    object_actions = (
        ObjectAction(
            name="reenable", label=_("Re-enable"),
            service=lambda endpoint, data, user: endpoint_enable(endpoint=endpoint),
            success=_("{count} endpoint(s) re-enabled."), unavailable=_not_enableable),
    )

    last_success = time_column("last_success_at", _("last success"))
    last_failure = time_column("last_failure_at", _("last failure"))
    disabled = time_column("disabled_at", _("disabled at"))
    created = time_column("created_at", _("created"))
    updated = time_column("updated_at", _("updated"))

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["tenant_type", "tenant_id", "url", "description", "event_types",
                               "filters", "max_retries", "backoff_multiplier"]}),
            (_("Secrets"), {
                "description": _("Stored encrypted and never shown back in full."),
                "fields": ["stored_secret", "new_secret", "stored_headers", "new_headers",
                           "clear_headers"]}),
        ]
        if obj is not None:
            fieldsets.append((_("Health"), {"fields": [
                "state_badge", "disabled", "disabled_reason", "consecutive_failures",
                "last_success", "last_failure", "see_also", "created", "updated"]}))
        return fieldsets

    @admin.display(description=_("tenant"))
    def tenant(self, obj: WebhookEndpoint) -> str:
        if not obj.tenant_type:
            return str(_("the deployment"))
        return f"{obj.tenant_type} {obj.tenant_id}"

    @admin.display(description=_("event types"))
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types or [])

    @admin.display(description=_("state"), ordering="is_active")
    def state_badge(self, obj: WebhookEndpoint) -> str:
        if obj.pk is None:
            return "—"
        if obj.is_active:
            return status_badge("active", _("Active"), "ok")
        return status_badge("disabled", _("Disabled"), "error")

    @admin.display(description=_("stored secret"))
    def stored_secret(self, obj: WebhookEndpoint) -> str:
        if obj.pk is None:
            return "—"
        try:
            return masked_value(obj.secret())
        except CredentialsUnreadable as exc:
            return status_badge("unreadable", str(exc), "error")

    @admin.display(description=_("stored headers"))
    def stored_headers(self, obj: WebhookEndpoint) -> str:
        if obj.pk is None:
            return "—"
        try:
            headers = obj.headers()
        except CredentialsUnreadable as exc:
            return status_badge("unreadable", str(exc), "error")
        if not headers:
            return str(_("none stored"))
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{}: {}</li>", [(name, masked_value(value)) for name, value in
                                    headers.items()]))

    @admin.display(description=_("see also"))
    def see_also(self, obj: WebhookEndpoint) -> str:
        return format_html('<a href="{}">{}</a>',
                           changelist_url(WebhookDelivery, endpoint__id__exact=obj.pk),
                           _("Deliveries"))

    def save_model(self, request, obj, form, change):
        # The form ran the services' checks; the services save.
        values = form.service_values()
        if change:
            endpoint_update(endpoint=obj, **values)
        else:
            saved = endpoint_create(tenant_type=form.cleaned_data.get("tenant_type") or "",
                                    tenant_id=form.cleaned_data.get("tenant_id") or "",
                                    **values)
            obj.pk = saved.pk
            obj.refresh_from_db()


def _not_redeliverable(delivery: WebhookDelivery) -> str:
    # The service's own rule, so the list and the page say the same.
    if not delivery.endpoint.is_active:
        return _("the endpoint is disabled: re-enable it first")
    return ""


class EventTypeFilter(admin.SimpleListFilter):
    """The registered event types, not a SELECT DISTINCT over the deliveries."""

    title = _("event type")
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(t.name, t.name) for t in webhook_event_types()]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ObjectActionsMixin, AutoRefreshMixin, ActionsOnlyAdmin):
    list_display = ("created", "event_type", "endpoint_link", "status_badge", "attempts",
                    "last_status_code", "delivered", "short_error")
    list_filter = ("status", EventTypeFilter)
    search_fields = ("=message_id",)
    list_select_related = ("endpoint",)
    fields = ("message_id", "event_type", "endpoint_link", "status_badge", "attempts",
              "last_status_code", "last_error", "last_attempt", "next_attempt", "created",
              "delivered", "operation_link", "attempt_rows", "payload_pretty")
    readonly_fields = fields
    object_actions = (
        ObjectAction(
            name="redeliver", label=_("Redeliver"),
            service=lambda delivery, data, user: delivery_redeliver(delivery=delivery),
            success=_("{count} delivery(ies) queued again, under the same message id."),
            unavailable=_not_redeliverable),
    )

    created = time_column("created_at", _("created"))
    delivered = time_column("delivered_at", _("delivered"))
    last_attempt = time_column("last_attempt_at", _("last attempt"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint", "operation")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: WebhookDelivery) -> str:
        return choice_badge(obj, "status", DELIVERY_TONES)

    @admin.display(description=_("endpoint"))
    def endpoint_link(self, obj: WebhookDelivery) -> str:
        return admin_change_link(obj.endpoint, obj.endpoint.url)

    @admin.display(description=_("last error"))
    def short_error(self, obj: WebhookDelivery) -> str:
        return short_text(obj.last_error)

    @admin.display(description=_("next attempt"))
    def next_attempt(self, obj: WebhookDelivery) -> str:
        return local_time(next_attempt_at(obj))

    @admin.display(description=_("operation"))
    def operation_link(self, obj: WebhookDelivery) -> str:
        if obj.operation is None:
            return "—"
        return format_html("{} {}", admin_change_link(obj.operation, f"#{obj.operation_id}"),
                           choice_badge(obj.operation, "state", OPERATION_TONES))

    @admin.display(description=_("attempts (audit rows)"))
    def attempt_rows(self, obj: WebhookDelivery) -> str:
        rows = list(delivery_attempts(obj))
        if not rows:
            return str(_("none yet"))
        table = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                 "<td>{}</td><td>{}</td></tr>", [
                                     (row.attempt, local_time(row.created_at),
                                      choice_badge(row, "status", SYNCLOG_TONES),
                                      row.http_status or "—",
                                      f"{row.duration_ms} ms" if row.duration_ms is not None
                                      else "—", short_text(row.error) or "—")
                                     for row in rows])
        return format_html(
            '<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            '<th>{}</th></tr></thead><tbody>{}</tbody></table><a href="{}">{}</a>',
            _("attempt"), _("when"), _("status"), _("HTTP status"), _("duration"),
            _("error"), table, audit_rows_url("core.webhookdelivery", str(obj.pk)),
            _("All audit rows of this delivery"))

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj: WebhookDelivery) -> str:
        # Masked as the outbox's payloads are: an event may carry personal data.
        text = redact_body(json.dumps(obj.payload, ensure_ascii=False, default=str),
                           "application/json")
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        return format_html('<pre class="hub-pre">{}</pre>', text)

    def pending(self, obj: WebhookDelivery) -> bool:
        return obj.status == WebhookDelivery.Status.PENDING
