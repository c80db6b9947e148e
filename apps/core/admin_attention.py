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

from apps.core.admin_tools import ReadOnlyAdmin
from apps.core.attention_selectors import attention_annotations, attention_object_url
from apps.core.models import AttentionItem


class ClearedFilter(admin.SimpleListFilter):
    """Open items unless asked otherwise: the queue is what is left to do."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("cleared", _("Cleared")), ("all", _("Open and cleared"))]

    def choices(self, changelist):
        yield {"selected": self.value() is None,
               "query_string": changelist.get_query_string(remove=[self.parameter_name]),
               "display": _("Open")}
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                   "display": title}

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        if self.value() == "cleared":
            return queryset.filter(cleared_at__isnull=False)
        return queryset.filter(cleared_at__isnull=True)


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
    list_display = ("created_at", "domain", "kind", "summary", "object_link", "action_hint",
                    "cleared_at")
    list_display_links = ("summary",)
    list_filter = (ClearedFilter, DomainFilter, KindFilter)
    list_select_related = ("content_type",)
    search_fields = ("=object_id", "summary")
    ordering = ("-created_at", "-pk")
    fields = ("domain", "kind", "summary", "action_hint", "object_link", "created_at",
              "updated_at", "cleared_at", "cleared_by", "key")
    readonly_fields = fields

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
        reason = obj.attention_reason
        return format_html('<span title="{}">⚠ {}</span>', reason, reason[:70])
