"""A person's language and time zone: read once per request, written from their page."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.errors import ServiceError
from apps.core.models import UserPreference
from apps.core.models.preferences import known_time_zones, validate_time_zone


@dataclass(frozen=True)
class Locale:
    """What a request runs with; blank fields fall back to the browser and TIME_ZONE."""

    language: str = ""
    time_zone: str = ""


def user_locale(*, user) -> Locale:
    """The user's choices, or blanks for an anonymous user or one who chose nothing."""
    if user is None or not user.is_authenticated:
        return Locale()
    row = (UserPreference.objects.filter(user_id=user.pk)
           .values_list("language", "time_zone").first())
    if row is None:
        return Locale()
    language, time_zone = row
    # A language dropped from LANGUAGES or a zone this machine no longer has
    # falls back rather than breaking every page of that user.
    if language not in dict(settings.LANGUAGES):
        language = ""
    if time_zone not in known_time_zones():
        time_zone = ""
    return Locale(language=language, time_zone=time_zone)


@transaction.atomic
def user_preference_set(*, user, language: str | None = None,
                        time_zone: str | None = None) -> UserPreference:
    """Record the user's choices. None leaves a choice as it is; blank means the
    default (the browser's language, the deployment's TIME_ZONE)."""
    errors: dict[str, list[str]] = {}
    if language is not None:
        language = language.strip()
        if language and language not in dict(settings.LANGUAGES):
            errors["language"] = [_("%(language)s is not one of the hub's languages.")
                                  % {"language": language}]
    if time_zone is not None:
        time_zone = time_zone.strip()
        try:
            validate_time_zone(time_zone)
        except ValidationError as exc:
            errors["time_zone"] = list(exc.messages)
    if errors:
        message = " ".join(message for messages in errors.values() for message in messages)
        raise ServiceError("invalid_preference", message, details=errors)
    preference, _created = UserPreference.objects.select_for_update().get_or_create(user=user)
    if language is not None:
        preference.language = language
    if time_zone is not None:
        preference.time_zone = time_zone
    preference.save()
    return preference
