"""Back-office for the core: audit log, webhook inbox, outbox, periodic jobs."""

from __future__ import annotations

import contextlib
import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from apps.core import admin_beat  # noqa: F401  (hides beat internals, "View site")
from apps.core.admin_display import (
    OPERATION_TONES,
    SYNCLOG_TONES,
    WEBHOOK_TONES,
    ConnectionLinkFilter,
    EntityFilter,
    OperationFilter,
    WebhookEntityFilter,
    admin_change_link,
    choice_badge,
    entity_link,
    operation_links,
    short_text,
    synclog_links,
    time_column,
    webhook_event_links,
)
from apps.core.admin_tools import (
    ActionsOnlyAdmin,
    AutoRefreshMixin,
    ObjectAction,
    ObjectActionsMixin,
    PlatformFilter,
    ReadOnlyAdmin,
    require_change_permission,
    run_service_action,
)
from apps.core.models import ApiToken, OutboundOperation, SyncLog, WebhookEvent
from apps.core.operations import operation_mark_resolved, operation_retry_now
from apps.core.redaction import redact_body
from apps.core.webhooks import webhook_replay


def pretty(text: str) -> str:
    with contextlib.suppress(TypeError, ValueError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return format_html('<pre class="hub-pre">{}</pre>', text)


@admin.register(SyncLog)
class SyncLogAdmin(ReadOnlyAdmin):
    list_display = ("created", "platform", "action", "status_badge", "http_status",
                    "entity", "operation_link", "duration_ms", "attempt")
    # Fixed choices only: a DISTINCT over this table on every page would be
    # slow. The link filters show only when a link from another page set them.
    list_filter = (PlatformFilter, "status", "direction", EntityFilter, OperationFilter,
                   ConnectionLinkFilter)
    search_fields = ("=entity_id", "=request_id", "=remote_request_id", "=action")
    date_hierarchy = None
    fields = ("created", "platform", "connection_link", "context", "direction", "action",
              "status_badge", "entity", "links", "http_method", "url", "http_status",
              "duration_ms", "attempt", "retry_count", "next_retry", "error", "request_id",
              "remote_request_id", "operation_link", "request_headers", "request_pretty",
              "response_headers", "response_pretty")
    readonly_fields = fields
    list_select_related = False

    created = time_column("created_at", _("when"))
    next_retry = time_column("next_retry_at", _("next retry"))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: SyncLog) -> str:
        return choice_badge(obj, "status", SYNCLOG_TONES)

    @admin.display(description=_("object"))
    def entity(self, obj: SyncLog) -> str:
        return entity_link(obj.entity_type, obj.entity_id)

    @admin.display(description=_("operation"))
    def operation_link(self, obj: SyncLog) -> str:
        # By id: the row's operation is not loaded, a list page stays one query.
        if obj.operation_id is None:
            return "—"
        return format_html('<a href="{}">#{}</a>',
                           reverse("admin:core_outboundoperation_change",
                                   args=[obj.operation_id]), obj.operation_id)

    @admin.display(description=_("connection"))
    def connection_link(self, obj: SyncLog) -> str:
        return admin_change_link(obj.connection)

    @admin.display(description=_("see also"))
    def links(self, obj: SyncLog) -> str:
        return synclog_links(obj)

    @admin.display(description=_("request body"))
    def request_pretty(self, obj: SyncLog) -> str:
        return pretty(obj.request_body)

    @admin.display(description=_("response body"))
    def response_pretty(self, obj: SyncLog) -> str:
        return pretty(obj.response_body)


def _not_replayable(event: WebhookEvent) -> str:
    # The service's own words, so the list and the page say the same.
    if event.status in (WebhookEvent.Status.REJECTED, WebhookEvent.Status.DUPLICATE):
        return _("only verified, unique events can be replayed")
    if event.status == WebhookEvent.Status.PROCESSING:
        return _("the event is being processed right now")
    return ""


@admin.register(WebhookEvent)
class WebhookEventAdmin(ObjectActionsMixin, AutoRefreshMixin, ReadOnlyAdmin):
    list_display = ("received", "platform", "event_type", "status_badge", "event_id",
                    "attempts")
    list_filter = (PlatformFilter, "status", WebhookEntityFilter, ConnectionLinkFilter)
    search_fields = ("=event_id", "=event_type")
    fields = ("received", "platform", "connection_link", "event_type", "event_id",
              "status_badge", "about", "signature_valid", "error", "attempts", "claimed",
              "processed", "next_attempt", "remote_addr", "request_id", "headers",
              "body_bytes", "body_sha256", "body_pretty")
    readonly_fields = fields
    object_actions = (
        ObjectAction(
            name="replay", label=_("Replay"),
            service=lambda event, data, user: webhook_replay(event=event),
            success=_("{count} event(s) queued for processing again."),
            unavailable=_not_replayable),
    )

    received = time_column("received_at", _("received"))
    claimed = time_column("claimed_at", _("claimed"))
    processed = time_column("processed_at", _("processed"))
    next_attempt = time_column("next_attempt_at", _("next attempt"))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: WebhookEvent) -> str:
        return choice_badge(obj, "status", WEBHOOK_TONES)

    @admin.display(description=_("about"))
    def about(self, obj: WebhookEvent) -> str:
        return webhook_event_links(obj)

    @admin.display(description=_("connection"))
    def connection_link(self, obj: WebhookEvent) -> str:
        return admin_change_link(obj.connection)

    @admin.display(description=_("body"))
    def body_pretty(self, obj: WebhookEvent) -> str:
        # Stored as received (the signature covers it); shown redacted like
        # the audit trail's bodies.
        return pretty(redact_body(obj.body, "application/json"))

    def has_change_permission(self, request, obj=None) -> bool:
        # Actions need change permission; the form itself stays read-only.
        return request.user.has_perm("core.change_webhookevent")

    def pending(self, obj: WebhookEvent) -> bool:
        return obj.status in (WebhookEvent.Status.ACCEPTED, WebhookEvent.Status.PROCESSING)


State = OutboundOperation.State


def _not_retryable(operation: OutboundOperation) -> str:
    if operation.state == State.SUCCEEDED:
        return _("It has succeeded: there is nothing to retry.")
    if operation.state == State.IN_FLIGHT:
        return _("A worker is running it now.")
    if operation.state == State.SUPERSEDED:
        return _("A newer change replaced it.")
    return ""


@admin.register(OutboundOperation)
class OutboundOperationAdmin(ObjectActionsMixin, AutoRefreshMixin, ActionsOnlyAdmin):
    list_display = ("created", "platform", "kind", "state_badge", "entity", "attempts",
                    "failures", "next_attempt", "short_error")
    list_filter = (PlatformFilter, "state", "needs_reconcile", EntityFilter,
                   ConnectionLinkFilter)
    search_fields = ("=idempotency_key", "=entity_id", "=kind")
    fields = ("kind", "platform", "connection_link", "state_badge", "entity", "links",
              "idempotency_key", "attempts", "failures", "needs_reconcile", "next_attempt",
              "lease_expires", "last_error", "last_status_code", "payload_pretty",
              "result_pretty", "request_id", "created", "updated", "completed")
    readonly_fields = fields
    actions = ["mark_resolved"]
    object_actions = (
        ObjectAction(
            name="retry_now", label=_("Retry now"),
            service=lambda operation, data, user: operation_retry_now(operation=operation),
            success=_("{count} operation(s) queued."), unavailable=_not_retryable),
    )

    created = time_column("created_at", _("created"))
    updated = time_column("updated_at", _("updated"))
    completed = time_column("completed_at", _("completed"))
    next_attempt = time_column("next_attempt_at", _("next attempt"))
    lease_expires = time_column("lease_expires_at", _("lease expires"))

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: OutboundOperation) -> str:
        return choice_badge(obj, "state", OPERATION_TONES)

    @admin.display(description=_("object"))
    def entity(self, obj: OutboundOperation) -> str:
        return entity_link(obj.entity_type, obj.entity_id)

    @admin.display(description=_("see also"))
    def links(self, obj: OutboundOperation) -> str:
        return operation_links(obj)

    @admin.display(description=_("connection"))
    def connection_link(self, obj: OutboundOperation) -> str:
        return admin_change_link(obj.connection)

    @admin.display(description=_("last error"))
    def short_error(self, obj: OutboundOperation) -> str:
        return short_text(obj.last_error)

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj: OutboundOperation) -> str:
        return pretty(redact_body(json.dumps(obj.payload, default=str), "application/json"))

    @admin.display(description=_("result"))
    def result_pretty(self, obj: OutboundOperation) -> str:
        return pretty(redact_body(json.dumps(obj.result, default=str), "application/json"))

    @admin.action(description=_("Mark resolved (settled by hand)"), permissions=["change"])
    def mark_resolved(self, request, queryset):
        note = f"marked resolved by {request.user.get_username()}"
        run_service_action(self, request, queryset,
                           lambda op: operation_mark_resolved(operation=op, note=note),
                           str(_("{count} operation(s) marked resolved.")))

    def pending(self, obj: OutboundOperation) -> bool:
        # Only work about to happen: a failed one may wait hours for its retry.
        return obj.state in (State.PENDING, State.IN_FLIGHT)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created", "last_used")
    list_select_related = ("user",)
    fields = ("prefix", "user", "created", "last_used")
    readonly_fields = fields

    created = time_column("created_at", _("created"))
    last_used = time_column("last_used_at", _("last used"))

    def has_add_permission(self, request) -> bool:
        return False


# django-celery-beat's actions declare no permission: anyone who may look at
# the periodic jobs (a Manager) could enable, disable or run any of them.
admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    # The times in the reader's zone with the zone named, as on every other page.
    list_display = ("name", "enabled", "scheduler", "interval", "start", "last_run", "one_off")

    start = time_column("start_time", _("start time"))
    last_run = time_column("last_run_at", _("last run"))

    @admin.action(description=beat_admin.PeriodicTaskAdmin.enable_tasks.short_description,
                  permissions=["change"])
    def enable_tasks(self, request, queryset):
        require_change_permission(self, request)
        return super().enable_tasks(request, queryset)

    @admin.action(description=beat_admin.PeriodicTaskAdmin.disable_tasks.short_description,
                  permissions=["change"])
    def disable_tasks(self, request, queryset):
        require_change_permission(self, request)
        return super().disable_tasks(request, queryset)

    @admin.action(description=beat_admin.PeriodicTaskAdmin.toggle_tasks.short_description,
                  permissions=["change"])
    def toggle_tasks(self, request, queryset):
        require_change_permission(self, request)
        return super().toggle_tasks(request, queryset)

    @admin.action(description=beat_admin.PeriodicTaskAdmin.run_tasks.short_description,
                  permissions=["change"])
    def run_tasks(self, request, queryset):
        require_change_permission(self, request)
        return super().run_tasks(request, queryset)

import apps.core.admin_connections  # noqa: E402  (registers connections)
import apps.core.admin_outgoing  # noqa: E402  (registers outgoing webhooks)
import apps.core.admin_sync  # noqa: E402,F401  (registers the sync primitives)
from apps.core import admin_attention  # noqa: E402,F401  (registers the attention queue)
