"""Token authentication for REST clients: `Authorization: Token <key>` or
`Authorization: Bearer <key>`, the same key under either scheme.

`Bearer` (RFC 6750) is what most HTTP clients and OpenAPI tools send for a
token; `Token` is what DRF clients send. Only the SHA-256 of a key is
stored, so a leaked database gives no usable tokens.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from apps.core.locale import activate_for_user
from apps.core.models import ApiToken


class HashedTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"
    # Compared case-insensitively, as RFC 9110 says auth schemes are.
    schemes = (b"token", b"bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in self.schemes:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        token = ApiToken.objects.for_key(key).select_related("user").first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        # Touch at most once a minute, so reads do not turn into writes.
        now = timezone.now()
        if not token.last_used_at or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        # The middleware only knows session users: a token client gets its
        # user's language and time zone from here on, errors included.
        activate_for_user(request, token.user)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
