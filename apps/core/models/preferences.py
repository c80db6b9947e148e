"""What a person chooses for themselves: the language and time zone of the interface."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


@cache
def known_time_zones() -> frozenset[str]:
    """Every IANA name this machine knows; read once, the listing walks the tz database."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """An IANA name this machine knows (Europe/Brussels, Africa/Tunis, ...)."""
    if value and value not in known_time_zones():
        raise ValidationError(
            _("%(value)s is not a known time zone; use a name such as Europe/Brussels."),
            code="invalid_time_zone", params={"value": value})


class UserPreference(models.Model):
    """One row per user who chose something; no row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="preference", verbose_name=_("user"))
    # Blank: the browser's language (Accept-Language), as LocaleMiddleware picks it.
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text=_("Empty: the language your browser asks for."))
    # Blank: the deployment's TIME_ZONE.
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone],
        help_text=_("Empty: the hub's own time zone."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return str(self.user)
