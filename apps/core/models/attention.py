"""One attention queue: what a manager must look at, across every domain."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AttentionItemQuerySet(models.QuerySet):
    def open(self) -> AttentionItemQuerySet:
        return self.filter(cleared_at__isnull=True)


class AttentionItem(models.Model):
    """Raised and cleared by the domains through `apps.core.attention`, never by hand."""

    domain = models.CharField(_("domain"), max_length=40)
    kind = models.CharField(_("kind"), max_length=60)
    # One open item per object and kind: raising it again refreshes it.
    key = models.CharField(max_length=200)
    summary = models.CharField(_("summary"), max_length=300)
    action_hint = models.CharField(_("what to do"), max_length=300, blank=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
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
        return self.summary
