"""The attention queue in the back-office, and the attention column domains share.

The queue is read-only: items are raised and cleared by the domains' services
when what they are about changes, never by hand. Each row links to its
object's admin page, reversed from the content type (joined in the list
query), so a page of items costs the same few queries however many it shows.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import (
    operation_links,
    related_links,
    status_badge,
    time_column,
    webhook_event_links,
)
from apps.core.admin_tools import ReadOnlyAdmin, ToDoFilter
from apps.core.attention_selectors import (
    attention_annotations,
    attention_object_url,
    attention_reason_text,
)
from apps.core.models import AttentionItem, OutboundOperation, WebhookEvent


class ClearedFilter(ToDoFilter):
    """Open items unless asked otherwise: the queue is what is left to do."""

    done_field = "cleared_at"
    done_value = "cleared"
    todo_label = _("Open")
    done_label = _("Cleared")
    all_label = _("Open and cleared")


class DomainFilter(admin.SimpleListFilter):
    title = _("domain")
    parameter_name = "domain"

    def lookups(self, request, model_admin):
        # A DISTINCT on the leading column of the (domain, kind, created) index.
        domains = (AttentionItem.objects.order_by("domain")
                   .values_list("domain", flat=True).distinct())
        return [(domain, domain) for domain in domains]

    def queryset(self, request, queryset):
        return queryset.filter(domain=self.value()) if self.value() else queryset


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        kinds = AttentionItem.objects.order_by("kind")
        domain = request.GET.get(DomainFilter.parameter_name)
        if domain:
            kinds = kinds.filter(domain=domain)
        return [(kind, kind) for kind in kinds.values_list("kind", flat=True).distinct()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(AttentionItem)
class AttentionItemAdmin(ReadOnlyAdmin):
    # The kind names its domain; the domain has its filter. Fewer columns fit
    # 1400 px beside both sidebars.
    list_display = ("raised", "kind", "state_badge", "summary_text", "object_link",
                    "action_hint_text", "cleared")
    list_display_links = ("summary_text",)
    list_filter = (ClearedFilter, DomainFilter, KindFilter)
    list_select_related = ("content_type",)
    search_fields = ("=object_id", "summary")
    ordering = ("-created_at", "-pk")
    fields = ("domain", "kind", "state_badge", "summary_text", "action_hint_text", "object_link",
              "see_also", "raised", "updated", "cleared", "cleared_by", "key")
    readonly_fields = fields

    raised = time_column("created_at", _("raised at"))
    updated = time_column("updated_at", _("updated"))
    cleared = time_column("cleared_at", _("cleared at"))

    # The texts in the reader's language, whoever raised the item (search
    # looks in the English ones).
    @admin.display(description=_("summary"), ordering="summary")
    def summary_text(self, item: AttentionItem) -> str:
        return item.summary_text

    @admin.display(description=_("what to do"))
    def action_hint_text(self, item: AttentionItem) -> str:
        return item.action_hint_text

    @admin.display(description=_("state"), ordering="cleared_at")
    def state_badge(self, item: AttentionItem) -> str:
        if item.cleared_at is None:
            return status_badge("open", _("Open"), "warning")
        return status_badge("cleared", _("Cleared"), "ok")

    @admin.display(description=_("see also"))
    def see_also(self, item: AttentionItem) -> str:
        # The object itself is loaded: one query, on its own page only.
        subject = item.subject if item.content_type_id and item.object_id else None
        if subject is None:
            return "—"
        if isinstance(subject, OutboundOperation):
            return operation_links(subject)
        if isinstance(subject, WebhookEvent):
            return webhook_event_links(subject)
        return related_links(subject)

    @admin.display(description=_("about"))
    def object_link(self, item: AttentionItem) -> str:
        url = attention_object_url(item)
        if not url:
            return "—"
        label = f"{item.content_type.name} #{item.object_id}"
        return format_html('<a href="{}">{}</a>', url, label)


class NeedsAttentionFilter(admin.SimpleListFilter):
    """Rows with an open attention item, on a change list annotated by `AttentionColumnMixin`."""

    title = _("needs attention")
    parameter_name = "needs_attention"

    def lookups(self, request, model_admin):
        return [("1", _("Yes")), ("0", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(needs_attention=self.value() == "1")
        return queryset


class AttentionColumnMixin:
    """A domain's change list: `needs_attention` and the newest open reason, annotated."""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**attention_annotations(self.model))

    @admin.display(description=_("attention"))
    def attention(self, obj) -> str:
        if not getattr(obj, "needs_attention", False):
            return ""
        reason = attention_reason_text(obj)
        return format_html('<span title="{}">⚠ {}</span>', reason, reason[:70])
