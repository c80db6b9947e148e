"""The attention queue's services: domains raise and clear items, never by hand.

An item is keyed by what it is about and why (`key`): raising it again
while it is open refreshes its summary instead of adding a second one, and
clearing it closes it. `key_for(kind, obj)` gives the usual key.

Its texts are read in the reader's language, whoever raised it: the caller
passes the English source text marked for translation (`gettext_noop`, or a
lazy string) and the values to fill in, never an already translated text.
Both are stored and translated when read (`AttentionItem.summary_text`);
`summary` and `action_hint` keep the English text for search:

    attention_raise(domain="dimona", kind=REFUSED, subject=shift,
                    summary=gettext_noop("Dimona-%(kind)s refused: %(codes)s"),
                    values={"kind": "IN", "codes": codes})

A value is shown as it is (a code, a number, a platform's message as
received), except a lazy string, which is translated when read, a list,
whose items are joined with "; ", and the nested messages of
`attention_message` and `attention_join`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise

from apps.core.models import AttentionItem
from apps.core.models.attention import message_text

# A value longer than this is cut: the texts it goes into are short.
MAX_VALUE_LENGTH = 500


def _source(text: Any) -> str:
    """The untranslated source text of `text` (a lazy string gives its msgid)."""
    # With no language active, gettext returns the msgid itself.
    with translation.override(None):
        return str(text)


def _value(value: Any) -> Any:
    """`value` as stored (JSON), keeping what must be translated when read."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Promise):
        return {"msgid": _source(value)}
    if isinstance(value, Mapping) and ("msgid" in value or "items" in value):
        return value
    if isinstance(value, list | tuple):
        return {"join": "; ", "items": [_value(item) for item in value]}
    return str(value)[:MAX_VALUE_LENGTH]


def _values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {str(name): _value(value) for name, value in (values or {}).items()}


def attention_message(msgid: Any, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A value that is itself a message, translated when read: a reason inside
    a summary ("Rejected by Symphonics: %(notes)s" with notes "no reason given")."""
    return {"msgid": _source(msgid), "values": _values(values)}


def attention_join(items: Iterable[Any], separator: str = "; ") -> dict[str, Any]:
    """A value made of several, each rendered when read, joined by `separator`."""
    return {"join": separator, "items": [_value(item) for item in items]}


def _english(msgid: str, values: dict[str, Any]) -> str:
    try:
        with translation.override(None):
            return message_text(msgid, values)
    except (KeyError, ValueError, TypeError, AttributeError):
        # Kept as given rather than lost: the reader sees the placeholders.
        return msgid


def key_for(kind: str, obj: models.Model) -> str:
    return f"{kind}:{obj._meta.label_lower}:{obj.pk}"


def attention_raise(*, domain: str, kind: str, summary: Any, subject: models.Model | None = None,
                    action_hint: Any = "", key: str = "",
                    values: Mapping[str, Any] | None = None) -> AttentionItem:
    """Open an item (or refresh the open one with the same key).

    `summary` and `action_hint` are English source texts marked for
    translation, filled with `values` (one dict for both) when read.
    """
    key = key or (key_for(kind, subject) if subject is not None else f"{kind}:{domain}")
    summary_msgid, hint_msgid, stored = _source(summary), _source(action_hint), _values(values)
    fields = {"domain": domain, "kind": kind,
              "summary": _english(summary_msgid, stored)[:300],
              "action_hint": _english(hint_msgid, stored)[:300],
              "summary_msgid": summary_msgid, "action_hint_msgid": hint_msgid,
              "message_values": stored}
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
