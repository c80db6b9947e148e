"""The state of an OAuth authorization-code flow in progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class OAuthState(models.Model):
    """One authorization attempt: one-time, short-lived, bound to the user who started it.

    Only a hash of the `state` parameter is stored (it travels in URLs), and
    the PKCE verifier is encrypted: whoever reads the table cannot finish the
    flow in the user's place.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    connection = models.ForeignKey("core.Connection", on_delete=models.CASCADE,
                                   related_name="oauth_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    encrypted_verifier = models.TextField()
    redirect_uri = models.URLField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth state for {self.connection} ({'used' if self.used_at else 'open'})"
