"""Throttles for endpoints that take credentials in the request itself.

DRF checks throttles after authentication, so a request refused for a wrong
secret is never counted: an attacker could try secrets as fast as the server
answers. These endpoints count every attempt per client address, before the
credentials are looked at. The counts live in the "throttle" cache, which
is Redis in production and the database without it, so every web process
shares them.
"""

from __future__ import annotations

from django.core.cache import caches
from rest_framework.throttling import ScopedRateThrottle


class AddressRateThrottle(ScopedRateThrottle):
    """The view's `throttle_scope` rate, per client address, whoever the caller claims to be."""

    cache = caches["throttle"]

    def get_cache_key(self, request, view) -> str:
        # Never request.user: that would run the authentication this throttle must precede.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ThrottleBeforeAuthenticationMixin:
    """Checks the throttles first, so refused credentials count as attempts too."""

    def perform_authentication(self, request) -> None:
        super().check_throttles(request)
        super().perform_authentication(request)

    def check_throttles(self, request) -> None:
        # Already checked before authentication; a second check would count twice.
        return None
