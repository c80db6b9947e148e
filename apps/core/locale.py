"""The language and time zone of each request, from the signed-in user's preference.

LocaleMiddleware has already picked a language from the set_language cookie
or the browser's Accept-Language; a user who chose one in their preferences
gets theirs instead, and everyone gets their own time zone (the deployment's
TIME_ZONE when they chose none). API clients authenticated by token are
only known inside DRF, so the token authentication calls `activate_for_user`
as well.
"""

from __future__ import annotations

from django.utils import timezone, translation

from apps.core.preferences import user_locale


def activate_for_user(request, user) -> None:
    locale = user_locale(user=user)
    if locale.language:
        translation.activate(locale.language)
        request.LANGUAGE_CODE = locale.language
    if locale.time_zone:
        timezone.activate(locale.time_zone)
    else:
        timezone.deactivate()


class UserLocaleMiddleware:
    """After AuthenticationMiddleware: needs `request.user`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        activate_for_user(request, getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            # The zone is per thread: the next request of this thread must
            # not inherit this user's.
            timezone.deactivate()
