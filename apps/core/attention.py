"""The attention queue's services: domains raise and clear items, never by hand.

An item is keyed by what it is about and why (`key`): raising it again
while it is open refreshes its summary instead of adding a second one, and
clearing it closes it. `key_for(kind, obj)` gives the usual key.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.core.models import AttentionItem


def key_for(kind: str, obj: models.Model) -> str:
    return f"{kind}:{obj._meta.label_lower}:{obj.pk}"


def attention_raise(*, domain: str, kind: str, summary: str, subject: models.Model | None = None,
                    action_hint: str = "", key: str = "") -> AttentionItem:
    """Open an item (or refresh the open one with the same key)."""
    key = key or (key_for(kind, subject) if subject is not None else f"{kind}:{domain}")
    fields = {"domain": domain, "kind": kind, "summary": summary[:300],
              "action_hint": action_hint[:300]}
    if subject is not None:
        fields.update(content_type=ContentType.objects.get_for_model(subject),
                      object_id=str(subject.pk))
    item = AttentionItem.objects.open().filter(key=key).first()
    if item is not None:
        AttentionItem.objects.filter(pk=item.pk).update(**fields, updated_at=timezone.now())
        item.refresh_from_db()
        return item
    try:
        # A savepoint: a concurrent raise of the same key must not break the caller.
        with transaction.atomic():
            return AttentionItem.objects.create(key=key, **fields)
    except IntegrityError:
        return AttentionItem.objects.open().get(key=key)


def attention_clear(*, kind: str = "", subject: models.Model | None = None, key: str = "",
                    by=None, kinds: Sequence[str] = (), domain: str = "") -> int:
    """Close the open item(s) of this key, or of this subject (narrowed to a kind,
    several kinds or a domain); returns how many."""
    if not key:
        if subject is None:
            raise ValueError("attention_clear needs a key or a subject")
        items = AttentionItem.objects.open().filter(
            content_type=ContentType.objects.get_for_model(subject), object_id=str(subject.pk))
        if kind:
            items = items.filter(kind=kind)
        if kinds:
            items = items.filter(kind__in=list(kinds))
        if domain:
            items = items.filter(domain=domain)
    else:
        items = AttentionItem.objects.open().filter(key=key)
    return items.update(cleared_at=timezone.now(), cleared_by=by)
