"""One attention queue: what a manager must look at, across every domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Why an item's text could not be rendered in the reader's language: a value
# missing from its stored values, a placeholder of the wrong type, a broken
# translation. The English text stored with the item is shown instead.
_RENDER_ERRORS = (KeyError, ValueError, TypeError, AttributeError)


def message_value_text(value: Any) -> Any:
    """One stored value (see `apps.core.attention.attention_message`), in the active language.

    A plain value (a code, a number, a platform's message as received) stays
    as it is; {"msgid", "values"} is translated now; {"join", "items"} joins
    its rendered items.
    """
    if isinstance(value, dict):
        if "msgid" in value:
            return message_text(str(value["msgid"]), value.get("values") or {})
        if "items" in value:
            return str(value.get("join", "; ")).join(
                str(message_value_text(item)) for item in value["items"])
        raise ValueError("not a message value")
    if isinstance(value, list):
        return "; ".join(str(message_value_text(item)) for item in value)
    return value


def message_text(msgid: str, values: Mapping[str, Any]) -> str:
    """`msgid` translated into the active language and filled with `values`.

    Raises one of _RENDER_ERRORS when it cannot be filled; a broken
    translation falls back to the source text first.
    """
    if not msgid:
        # gettext("") is the catalogue's header, never a message.
        return ""
    rendered = {name: message_value_text(value) for name, value in values.items()}
    translated = gettext(msgid)
    if not rendered and "%(" not in msgid:
        # Nothing to fill: a literal "%" in an unformatted text stays as it is.
        return translated
    try:
        return translated % rendered
    except _RENDER_ERRORS:
        return msgid % rendered


class AttentionItemQuerySet(models.QuerySet):
    def open(self) -> AttentionItemQuerySet:
        return self.filter(cleared_at__isnull=True)


class AttentionItem(models.Model):
    """Raised and cleared by the domains through `apps.core.attention`, never by hand."""

    domain = models.CharField(_("domain"), max_length=40)
    kind = models.CharField(_("kind"), max_length=60)
    # One open item per object and kind: raising it again refreshes it.
    key = models.CharField(_("key"), max_length=200)
    # The English text, for search and for a reader whose language has no
    # translation; the `*_text` properties show the reader's language.
    summary = models.CharField(_("summary"), max_length=300)
    action_hint = models.CharField(_("what to do"), max_length=300, blank=True)
    # The untranslated source texts and the values they are filled with,
    # translated when read: a worker raises in English, a manager reads in
    # French. Empty for items raised before they existed.
    summary_msgid = models.TextField(_("summary (source text)"), blank=True)
    action_hint_msgid = models.TextField(_("what to do (source text)"), blank=True)
    message_values = models.JSONField(_("message values"), default=dict, blank=True)
    content_type = models.ForeignKey(ContentType, verbose_name=_("content type"), null=True,
                                     blank=True,
                                     on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(_("object ID"), max_length=64, blank=True)
    subject = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("cleared by"),
                                   null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    objects = AttentionItemQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("attention item")
        verbose_name_plural = _("attention items")
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=models.Q(cleared_at__isnull=True),
                                    name="attention_one_open_per_key"),
        ]
        indexes = [
            models.Index(fields=["domain", "kind", "-created_at"], name="attention_by_kind"),
            models.Index(fields=["content_type", "object_id"], name="attention_subject"),
        ]

    def __str__(self) -> str:
        return self.summary_text

    @property
    def summary_text(self) -> str:
        """The summary in the active language."""
        return self._text(self.summary_msgid, self.summary)

    @property
    def action_hint_text(self) -> str:
        """What to do, in the active language."""
        return self._text(self.action_hint_msgid, self.action_hint)

    def _text(self, msgid: str, stored: str) -> str:
        return stored_message_text(msgid, self.message_values, stored)


def stored_message_text(msgid: str, values: Any, stored: str) -> str:
    """An item's text in the active language, from its stored columns: the
    source text, the values (as read from the JSON column) and the English
    text, which is what is shown when the other two cannot be rendered.

    For a reader that annotates these columns instead of loading the items
    (a domain's change list showing each row's newest reason).
    """
    if not msgid:
        return stored
    try:
        return message_text(msgid, values if isinstance(values, dict) else {})
    except _RENDER_ERRORS:
        return stored


def stored_text(text: str) -> str:
    """A text saved on a record as an English source text (a declaration's error, a
    status change's note), in the active language. A platform's own message,
    saved as received, has no translation and stays as it is.
    """
    # gettext("") is the catalogue's header, never a message.
    return gettext(text) if text else ""
