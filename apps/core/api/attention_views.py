"""`GET /api/attention/`: the open attention items across every domain, for Managers.

Also the `needs_attention` filter the domains' list endpoints share: their
querysets carry the annotation from `attention_annotations`.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, serializers

from apps.core.api.permissions import IsManager
from apps.core.api.strict import StrictQueryParamsMixin
from apps.core.attention_selectors import attention_object_url, attention_open_items
from apps.core.models import AttentionItem


class AttentionItemOutputSerializer(serializers.ModelSerializer):
    # Translated when read: in the request's language, whoever raised the item.
    # `kind` is what a client should branch on.
    summary = serializers.CharField(
        source="summary_text", read_only=True,
        help_text="What needs a look, in the request's language (Accept-Language or the "
                  "user's preference).")
    object_url = serializers.SerializerMethodField(
        help_text="The admin page of the object the item is about; empty if it has none.")

    class Meta:
        model = AttentionItem
        fields = ["id", "domain", "kind", "summary", "object_url", "created_at"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_object_url(self, item: AttentionItem) -> str:
        path = attention_object_url(item)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if path and request is not None else path


class AttentionItemFilter(django_filters.FilterSet):
    domain = django_filters.CharFilter(max_length=40, help_text="e.g. dimona")
    kind = django_filters.CharFilter(max_length=60, help_text="e.g. dimona.refused")

    class Meta:
        model = AttentionItem
        fields = ["domain", "kind"]


class AttentionListView(StrictQueryParamsMixin, generics.ListAPIView):
    """Open attention items, newest first, filterable by domain and kind."""

    permission_classes = [IsManager]
    serializer_class = AttentionItemOutputSerializer
    filterset_class = AttentionItemFilter

    def get_queryset(self):
        return attention_open_items()


class NeedsAttentionFilterSet(django_filters.FilterSet):
    """Base of a domain's filter set whose queryset is annotated with `needs_attention`."""

    needs_attention = django_filters.BooleanFilter(
        help_text="Only objects with (true) or without (false) an open attention item.")
