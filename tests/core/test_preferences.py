"""A person's language and time zone: chosen on their page, applied to every request."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import ApiToken, UserPreference
from apps.core.preferences import Locale, user_locale, user_preference_set
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PREFERENCES_URL = "/admin/preferences/"


def test_it_saves_a_language_and_a_time_zone():
    user = UserFactory()

    user_preference_set(user=user, language="nl", time_zone="Africa/Tunis")

    preference = UserPreference.objects.get(user=user)
    assert (preference.language, preference.time_zone) == ("nl", "Africa/Tunis")
    assert user_locale(user=user).time_zone == "Africa/Tunis"


def test_it_keeps_the_choice_it_is_not_given():
    user = UserFactory()
    user_preference_set(user=user, language="fr", time_zone="Europe/Paris")

    user_preference_set(user=user, language="nl")

    assert user_locale(user=user).language == "nl"
    assert user_locale(user=user).time_zone == "Europe/Paris"


def test_it_refuses_an_unknown_language_and_zone_together():
    user = UserFactory()

    with pytest.raises(ServiceError) as refused:
        user_preference_set(user=user, language="de", time_zone="Europe/Atlantis")

    assert refused.value.code == "invalid_preference"
    assert set(refused.value.details) == {"language", "time_zone"}
    assert "Europe/Atlantis" in refused.value.details["time_zone"][0]
    assert not UserPreference.objects.filter(user=user).exists()


def test_a_user_without_a_row_gets_the_defaults():
    assert user_locale(user=UserFactory()).language == ""
    assert user_locale(user=UserFactory()).time_zone == ""


def test_the_page_needs_a_login(client):
    response = client.get(PREFERENCES_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_page_saves_through_the_service_and_answers_in_the_new_language(manager_client,
                                                                             manager_user):
    response = manager_client.post(PREFERENCES_URL, {"language": "fr",
                                                     "time_zone": "Africa/Tunis"})

    assert response.status_code == 302
    assert user_locale(user=manager_user) == Locale(language="fr", time_zone="Africa/Tunis")
    page = manager_client.get(PREFERENCES_URL)
    text = page.content.decode()
    assert 'lang="fr"' in text
    assert "Vos préférences" in text
    assert "Africa/Tunis" in text


def test_the_page_shows_a_refusal_instead_of_saving(manager_client, manager_user):
    response = manager_client.post(PREFERENCES_URL, {"language": "fr",
                                                     "time_zone": "Mars/Olympus"})

    assert response.status_code == 200
    assert not UserPreference.objects.filter(user=manager_user).exists()


def test_the_header_switcher_changes_only_the_language(manager_client, manager_user):
    user_preference_set(user=manager_user, language="fr", time_zone="Europe/Paris")

    response = manager_client.post(PREFERENCES_URL, {"language": "nl", "next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert user_locale(user=manager_user).language == "nl"
    assert user_locale(user=manager_user).time_zone == "Europe/Paris"


def test_the_switcher_does_not_send_anyone_elsewhere(manager_client):
    response = manager_client.post(PREFERENCES_URL,
                                   {"language": "nl", "next": "https://evil.example/"})

    assert response["Location"] == PREFERENCES_URL


def test_the_users_language_wins_over_the_browsers(manager_client, manager_user):
    user_preference_set(user=manager_user, language="nl")

    response = manager_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    assert response["Content-Language"] == "nl"
    assert "Voorkeuren" in response.content.decode()


def test_without_a_preference_the_browsers_language_stands(manager_client):
    response = manager_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr")

    assert response["Content-Language"] == "fr"
    assert "Préférences" in response.content.decode()


def test_the_header_names_the_users_time_zone(manager_client, manager_user):
    user_preference_set(user=manager_user, time_zone="Africa/Tunis")

    text = manager_client.get("/admin/").content.decode()

    assert "Africa/Tunis" in text


def test_the_header_names_the_hubs_zone_by_default(manager_client):
    text = manager_client.get("/admin/").content.decode()

    assert settings.TIME_ZONE in text


def test_a_requests_zone_does_not_leak_into_the_next(manager_client, manager_user):
    user_preference_set(user=manager_user, time_zone="Africa/Tunis")

    manager_client.get("/admin/")

    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


def test_a_token_client_gets_its_users_language(client, manager_user):
    user_preference_set(user=manager_user, language="fr")
    _token, key = ApiToken.issue(manager_user)

    response = client.get("/api/dimona/shifts/?colour=red", HTTP_AUTHORIZATION=f"Bearer {key}",
                          HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "unknown_query_parameter"
    assert body["details"]["colour"] == ["Paramètre de requête inconnu."]


def test_the_language_can_be_chosen_before_login(client):
    response = client.post("/i18n/setlang/", {"language": "nl", "next": "/admin/login/"})

    assert response.status_code == 302
    page = client.get("/admin/login/")
    assert page["Content-Language"] == "nl"
    assert 'lang="nl"' in page.content.decode()
