"""Reading the attention queue: the open list, and "needs attention" on a domain's rows.

A domain's change list and API say whether each row needs attention with an
annotation (`attention_annotations`), one correlated subquery per column on
the index of the item's subject, never a query per row.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce
from django.urls import NoReverseMatch, reverse

from apps.core.models import AttentionItem
from apps.core.models.attention import stored_message_text


def attention_open_items(*, domain: str = "", kind: str = "") -> QuerySet[AttentionItem]:
    """Open items, newest first, with their content type (for the object link) joined."""
    items = AttentionItem.objects.open().select_related("content_type")
    if domain:
        items = items.filter(domain=domain)
    if kind:
        items = items.filter(kind=kind)
    return items.order_by("-created_at", "-pk")


def _open_items_of_outer_row(model: type[models.Model], domain: str) -> QuerySet[AttentionItem]:
    # By app label and model name, not by a ContentType id: building the
    # queryset (at import time for a viewset) must not query the database.
    opts = model._meta
    items = AttentionItem.objects.open().filter(
        content_type__app_label=opts.app_label, content_type__model=opts.model_name,
        object_id=Cast(OuterRef("pk"), output_field=models.CharField()))
    return items.filter(domain=domain) if domain else items


def attention_annotations(model: type[models.Model], *, domain: str = "") -> dict:
    """`needs_attention` and `attention_reason` (the newest open summary) for a queryset
    of `model`: `queryset.annotate(**attention_annotations(Shift))`.

    `attention_reason` is the stored English text; `attention_reason_msgid` and
    `attention_reason_values` are what a reader renders it from in their own
    language: `attention_reason_text(row)`.
    """
    items = _open_items_of_outer_row(model, domain)
    newest_items = items.order_by("-created_at", "-pk")
    return {
        "needs_attention": Exists(items),
        "attention_reason": Coalesce(Subquery(newest_items.values("summary")[:1]), Value(""),
                                     output_field=models.CharField()),
        "attention_reason_msgid": Subquery(newest_items.values("summary_msgid")[:1]),
        "attention_reason_values": Subquery(newest_items.values("message_values")[:1],
                                            output_field=models.JSONField()),
    }


def attention_reason_text(row: models.Model) -> str:
    """The newest open reason of a row annotated by `attention_annotations`, in the
    active language ("" when it has none)."""
    return stored_message_text(getattr(row, "attention_reason_msgid", "") or "",
                               getattr(row, "attention_reason_values", None),
                               getattr(row, "attention_reason", "") or "")


def attention_object_url(item: AttentionItem) -> str:
    """The admin page of the item's object, from its content type alone (nothing loaded).

    Empty when the item has no object or its model has no admin page.
    """
    if item.content_type_id is None or not item.object_id:
        return ""
    content_type = item.content_type
    try:
        return reverse(f"admin:{content_type.app_label}_{content_type.model}_change",
                       args=[item.object_id])
    except NoReverseMatch:
        return ""


def attention_open_for(obj: models.Model) -> dict[str, str]:
    """The open items about `obj`: kind → summary, in the active language."""
    items = AttentionItem.objects.open().filter(
        content_type__app_label=obj._meta.app_label, content_type__model=obj._meta.model_name,
        object_id=str(obj.pk)).only("kind", "summary", "summary_msgid", "message_values")
    return {item.kind: item.summary_text for item in items}
