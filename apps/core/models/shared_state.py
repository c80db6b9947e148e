"""The shared store's state when no Redis is configured (apps.core.store.DatabaseStore).

Breakers, rate-limit windows, token caches and token locks live here, so every
process (web, workers, beat) sees the same state as the health page does.
Times are seconds since the epoch, as the store's interface speaks them, read
from the database server's clock where it has one.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SharedState(models.Model):
    """One key: a plain value (a lock, a counter, a cached token), a hash (a
    breaker's state, kept as a JSON object), or the head row of a rate-limit
    window, which is only there to be locked while the window is counted."""

    class Kind(models.TextChoices):
        VALUE = "value", _("value")
        HASH = "hash", _("hash")
        WINDOW = "window", _("rate-limit window")

    key = models.CharField(_("key"), max_length=255, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VALUE)
    value = models.TextField(_("value"), blank=True)
    # Null: kept until deleted. Rows past it are ignored at once and deleted
    # by the next write of their key or by the nightly purge.
    expires_at = models.FloatField(_("expires at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("shared state")
        verbose_name_plural = _("shared state")

    def __str__(self) -> str:
        return self.key


class SharedWindowHit(models.Model):
    """One call admitted in one rate-limit window (a sliding-window log entry)."""

    key = models.CharField(_("key"), max_length=255)
    at = models.FloatField(_("at"))
    # `at` plus the window: past it the hit counts for nothing.
    expires_at = models.FloatField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("rate-limit window hit")
        verbose_name_plural = _("rate-limit window hits")
        # Counting a window and finding its oldest hits read this index only.
        indexes = [models.Index(fields=["key", "at"], name="core_window_hit_key_at")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.at}"
