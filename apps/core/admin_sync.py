"""Back-office of the sync primitives: runs, cursors, mappings and conflicts."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import (
    CONFLICT_TONES,
    MAPPING_TONES,
    SYNC_RUN_TONES,
    choice_badge,
    local_object_link,
    time_column,
)
from apps.core.admin_tools import (
    ActionsOnlyAdmin,
    ReadOnlyAdmin,
    confirmed_service_action,
    require_change_permission,
    run_service_action,
)
from apps.core.conflicts import conflict_diff, conflict_resolve
from apps.core.models import Conflict, ExternalMapping, SyncCursor, SyncRun
from apps.core.sync import cursor_reset

# Filter choices come from this many of the newest rows rather than from a
# SELECT DISTINCT over the whole table; a kind not seen lately can still be
# searched for.
RECENT_ROWS_FOR_CHOICES = 500



class RecentValuesFilter(admin.SimpleListFilter):
    field_name = ""
    order_by = ""

    def lookups(self, request, model_admin):
        recent = (model_admin.model._default_manager.order_by(self.order_by)
                  .values_list(self.field_name, flat=True)[:RECENT_ROWS_FOR_CHOICES])
        return [(value, value) for value in sorted(set(recent))]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field_name: self.value()}) if self.value() else queryset


class RunKindFilter(RecentValuesFilter):
    title = _("kind")
    parameter_name = "kind"
    field_name = "kind"
    order_by = "-started_at"


class ConflictEntityFilter(RecentValuesFilter):
    title = _("entity type")
    parameter_name = "entity_type"
    field_name = "entity_type"
    order_by = "-created_at"


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("started", "kind", "connection", "status_badge", "progress_bar",
                    "created", "updated", "unchanged", "deleted", "invalid", "errors",
                    "trigger_by", "finished")
    list_filter = (RunKindFilter, "status", "connection", "trigger")
    list_select_related = ("connection", "triggered_by")
    search_fields = ("=kind",)
    fields = ("kind", "connection", "direction", "status_badge", "trigger", "triggered_by",
              "started", "finished", "progress_bar", "created", "updated", "unchanged",
              "deleted", "invalid", "errors", "first_errors")
    readonly_fields = fields

    started = time_column("started_at", _("started"))
    finished = time_column("finished_at", _("finished"))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: SyncRun) -> str:
        return choice_badge(obj, "status", SYNC_RUN_TONES)

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: SyncRun) -> str:
        if not obj.progress_total:
            return format_html("{}", obj.progress_done)
        percent = min(100, round(100 * obj.progress_done / obj.progress_total))
        return format_html(
            '<progress value="{}" max="{}" class="hub-progress-bar"></progress> {} / {} ({}%)',
            obj.progress_done, obj.progress_total, obj.progress_done, obj.progress_total,
            percent)

    @admin.display(description=_("trigger"), ordering="trigger")
    def trigger_by(self, obj: SyncRun) -> str:
        who = obj.triggered_by.get_username() if obj.triggered_by else ""
        return f"{obj.get_trigger_display()} {who}".strip()

    @admin.display(description=_("first errors"))
    def first_errors(self, obj: SyncRun) -> str:
        if not obj.error_samples:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>",
            ((sample.get("record", ""), sample.get("message", "")) for sample in obj.error_samples))
        return format_html('<table><tr><th>{}</th><th>{}</th></tr>{}</table>',
                           _("record"), _("error"), rows)


@admin.register(SyncCursor)
class SyncCursorAdmin(ActionsOnlyAdmin):
    """Reset is the one action; a cursor itself is only ever written by its sync."""

    list_display = ("connection", "stream", "short_value", "updated")
    list_filter = ("connection",)
    list_select_related = ("connection",)
    search_fields = ("=stream",)
    fields = ("connection", "stream", "value", "updated")
    readonly_fields = fields
    actions = ["reset"]

    updated = time_column("updated_at", _("updated"))

    @admin.display(description=_("cursor"))
    def short_value(self, obj: SyncCursor) -> str:
        if not obj.value:
            return str(_("(empty: full resync next time)"))
        return obj.value if len(obj.value) <= 60 else obj.value[:60] + "…"

    @admin.action(description=_("Reset — full resync next time"), permissions=["change"])
    def reset(self, request, queryset):
        run_service_action(
            self, request, queryset,
            lambda cursor: cursor_reset(connection=cursor.connection, stream=cursor.stream),
            str(_("{count} cursor(s) reset: their next run is a full resync.")))


@admin.register(ExternalMapping)
class ExternalMappingAdmin(ReadOnlyAdmin):
    list_display = ("local_object", "connection", "external_id", "secondary_id",
                    "status_badge", "synced")
    list_filter = ("status", "connection")
    list_select_related = ("connection",)
    search_fields = ("=local_id", "=external_id", "=secondary_id")
    fields = ("local_object", "connection", "external_id", "secondary_id", "status_badge",
              "synced", "content_hash", "raw_pretty")
    readonly_fields = fields

    synced = time_column("synced_at", _("synced"))

    @admin.display(description=_("our object"), ordering="entity_type")
    def local_object(self, obj: ExternalMapping) -> str:
        return local_object_link(obj.entity_type, obj.local_id)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: ExternalMapping) -> str:
        return choice_badge(obj, "status", MAPPING_TONES)

    @admin.display(description=_("as the platform last sent it"))
    def raw_pretty(self, obj: ExternalMapping) -> str:
        text = json.dumps(obj.raw, indent=2, ensure_ascii=False, sort_keys=True, default=str)
        return format_html('<pre class="hub-pre">{}</pre>', text)


class PrettyJSONField(forms.JSONField):
    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


class ConflictMergeForm(forms.Form):
    merged_value = PrettyJSONField(
        label=_("merged value (JSON)"), widget=forms.Textarea(attrs={"rows": 16, "cols": 80}),
        help_text=_("Starts as the proposed merge; what you confirm is applied to our object."))
    diff: list = []


def merge_form_for(conflict: Conflict) -> type[ConflictMergeForm]:
    """The merge form of one conflict: its proposal to start from, its diff to look at."""

    class Form(ConflictMergeForm):
        diff = conflict_diff(conflict)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("initial", {"merged_value": conflict.proposed_value})
            super().__init__(*args, **kwargs)

    return Form


@admin.register(Conflict)
class ConflictAdmin(ActionsOnlyAdmin):
    """Keep ours, take theirs or merge, each through the service."""

    list_display = ("created", "entity", "connection", "status_badge", "resolution",
                    "resolved_by", "resolved")
    list_filter = ("status", "resolution", ConflictEntityFilter, "connection")
    list_select_related = ("connection", "resolved_by")
    search_fields = ("=local_id",)
    fields = ("entity", "connection", "status_badge", "resolution", "resolved_by",
              "resolved", "created")
    readonly_fields = fields

    created = time_column("created_at", _("created"))
    resolved = time_column("resolved_at", _("resolved"))
    actions = ["keep_local", "take_remote", "merge"]
    change_form_template = "admin/core/conflict/change_form.html"

    @admin.display(description=_("object"))
    def entity(self, obj: Conflict) -> str:
        return local_object_link(obj.entity_type, obj.local_id)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Conflict) -> str:
        return choice_badge(obj, "status", CONFLICT_TONES)

    @admin.action(description=_("Keep ours"), permissions=["change"])
    def keep_local(self, request, queryset):
        self._resolve(request, queryset, Conflict.Resolution.KEEP_LOCAL)

    @admin.action(description=_("Take theirs"), permissions=["change"])
    def take_remote(self, request, queryset):
        self._resolve(request, queryset, Conflict.Resolution.TAKE_REMOTE)

    @admin.action(description=_("Merge (edit the proposed value)"), permissions=["change"])
    def merge(self, request, queryset):
        require_change_permission(self, request)
        conflicts = list(queryset[:2])
        if len(conflicts) != 1:
            self.message_user(request, _("Merge one conflict at a time."), messages.ERROR)
            return None
        return confirmed_service_action(
            self, request, queryset, action="merge", form_class=merge_form_for(conflicts[0]),
            service=lambda conflict, data: conflict_resolve(
                conflict=conflict, resolution=Conflict.Resolution.MERGED, user=request.user,
                merged_value=data["merged_value"]),
            success=str(_("Conflict resolved with the merged value.")),
            title=_("Merge a conflict"), template="admin/core/conflict/confirm_merge.html")

    def _resolve(self, request, queryset, resolution: str) -> None:
        run_service_action(
            self, request, queryset,
            lambda conflict: conflict_resolve(conflict=conflict, resolution=resolution,
                                              user=request.user),
            str(_("{count} conflict(s) resolved.")))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        conflict = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if conflict is not None:
            context.update(
                diff=conflict_diff(conflict), action_checkbox_name=ACTION_CHECKBOX_NAME,
                can_resolve=(conflict.status == Conflict.Status.OPEN
                             and self.has_change_permission(request)))
        return super().change_view(request, object_id, form_url, context)
