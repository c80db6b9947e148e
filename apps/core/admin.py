"""Back-office for the core: audit log, webhook inbox, outbox, periodic jobs."""

from __future__ import annotations

import contextlib
import json

from django.contrib import admin
from django.utils.html import format_html
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from apps.core.admin_tools import (
    BigTableAdmin,
    PlatformFilter,
    ReadOnlyAdmin,
    require_change_permission,
    run_service_action,
)
from apps.core.models import ApiToken, OutboundOperation, SyncLog, WebhookEvent
from apps.core.operations import operation_mark_resolved, operation_retry_now
from apps.core.webhooks import webhook_replay

STATUS_COLOURS = {
    "success": "#1a7f37", "processed": "#1a7f37", "succeeded": "#1a7f37",
    "failed": "#cf222e", "rejected": "#cf222e", "dead": "#cf222e",
    "conflict": "#9a6700", "retry": "#9a6700", "unknown": "#9a6700", "started": "#9a6700",
    "duplicate": "#57606a", "skipped": "#57606a", "ignored": "#57606a",
}


def badge(value: str, label: str | None = None) -> str:
    colour = STATUS_COLOURS.get(value, "#0969da")
    return format_html(
        '<span style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
        colour, label or value,
    )


def pretty(text: str) -> str:
    with contextlib.suppress(TypeError, ValueError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return format_html('<pre style="white-space:pre-wrap;max-width:900px">{}</pre>', text)


@admin.register(SyncLog)
class SyncLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "platform", "action", "status_badge", "http_status",
                    "entity", "duration_ms", "attempt")
    # Fixed choices only: a DISTINCT over this table on every page would be slow.
    list_filter = (PlatformFilter, "status", "direction")
    search_fields = ("=entity_id", "=request_id", "=remote_request_id", "=action")
    date_hierarchy = None
    fields = ("created_at", "platform", "context", "direction", "action", "status",
              "entity_type", "entity_id", "http_method", "url", "http_status", "duration_ms",
              "attempt", "retry_count", "next_retry_at", "error", "request_id",
              "remote_request_id", "operation", "request_headers", "request_pretty",
              "response_headers", "response_pretty")
    readonly_fields = fields
    list_select_related = False

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: SyncLog) -> str:
        return badge(obj.status)

    @admin.display(description="entity")
    def entity(self, obj: SyncLog) -> str:
        return f"{obj.entity_type} {obj.entity_id}".strip()

    @admin.display(description="request body")
    def request_pretty(self, obj: SyncLog) -> str:
        return pretty(obj.request_body)

    @admin.display(description="response body")
    def response_pretty(self, obj: SyncLog) -> str:
        return pretty(obj.response_body)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "platform", "event_type", "status_badge", "event_id",
                    "attempts")
    list_filter = (PlatformFilter, "status")
    search_fields = ("=event_id", "=event_type")
    fields = ("received_at", "platform", "event_type", "event_id", "status",
              "signature_valid", "error", "attempts", "claimed_at", "processed_at", "remote_addr",
              "request_id", "headers", "body_bytes", "body_sha256", "body_pretty")
    readonly_fields = fields
    actions = ["replay"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: WebhookEvent) -> str:
        return badge(obj.status)

    @admin.display(description="body")
    def body_pretty(self, obj: WebhookEvent) -> str:
        return pretty(obj.body)

    @admin.action(description="Replay the selected events", permissions=["change"])
    def replay(self, request, queryset):
        run_service_action(self, request, queryset, lambda e: webhook_replay(event=e),
                           "{count} event(s) queued for processing again.")

    def has_change_permission(self, request, obj=None) -> bool:
        # Actions need change permission; the form itself stays read-only.
        return request.user.has_perm("core.change_webhookevent")


@admin.register(OutboundOperation)
class OutboundOperationAdmin(BigTableAdmin):
    list_display = ("created_at", "platform", "kind", "state_badge", "entity", "attempts",
                    "failures", "next_attempt_at", "short_error")
    list_filter = (PlatformFilter, "state", "needs_reconcile")
    search_fields = ("=idempotency_key", "=entity_id", "=kind")
    readonly_fields = [f.name for f in OutboundOperation._meta.fields]
    actions = ["retry_now", "mark_resolved"]

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj: OutboundOperation) -> str:
        return badge(obj.state, obj.get_state_display())

    @admin.display(description="entity")
    def entity(self, obj: OutboundOperation) -> str:
        return f"{obj.entity_type} {obj.entity_id}".strip()

    @admin.display(description="last error")
    def short_error(self, obj: OutboundOperation) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description="Retry now", permissions=["change"])
    def retry_now(self, request, queryset):
        run_service_action(self, request, queryset, lambda op: operation_retry_now(operation=op),
                           "{count} operation(s) queued.")

    @admin.action(description="Mark resolved (settled by hand)", permissions=["change"])
    def mark_resolved(self, request, queryset):
        note = f"marked resolved by {request.user.get_username()}"
        run_service_action(self, request, queryset,
                           lambda op: operation_mark_resolved(operation=op, note=note),
                           "{count} operation(s) marked resolved.")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at")
    list_select_related = ("user",)
    readonly_fields = ("prefix", "user", "created_at", "last_used_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request) -> bool:
        return False


# django-celery-beat's actions declare no permission: anyone who may look at
# the periodic jobs (a Manager) could enable, disable or run any of them.
admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
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
import apps.core.admin_sync  # noqa: E402,F401  (registers the sync primitives)
from apps.core import admin_attention  # noqa: E402,F401  (registers the attention queue)
