"""The state of an OAuth authorization-code flow in progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OAuthState(models.Model):
    """One authorization attempt: one-time, short-lived, bound to the user who started it.

    Only a hash of the `state` parameter is stored (it travels in URLs), and
    the PKCE verifier is encrypted: whoever reads the table cannot finish the
    flow in the user's place.
    """

    state_hash = models.CharField(_("state hash"), max_length=64, unique=True)
    connection = models.ForeignKey("core.Connection", verbose_name=_("connection"),
                                   on_delete=models.CASCADE,
                                   related_name="oauth_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE,
                             related_name="+")
    encrypted_verifier = models.TextField(_("encrypted verifier"))
    redirect_uri = models.URLField(_("redirect uri"), max_length=300)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("OAuth state")
        verbose_name_plural = _("OAuth states")

    def __str__(self) -> str:
        return f"OAuth state for {self.connection} ({'used' if self.used_at else 'open'})"
