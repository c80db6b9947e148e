"""The callback refuses a state that is reused, expired, unknown, another
user's, another organisation's or another provider's, and a provider's
refusal: 400 OAUTH_ERROR and nothing stored (the provider not even asked,
except for its own refusal)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
import time_machine
from django.utils import timezone

from apps.core.connections import client_cache_clear
from apps.core.errors import ServiceError
from apps.core.models import Connection
from apps.integrations.connect import connect_finish, connect_start
from apps.integrations.models import Integration, Organization

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://zoom.test/token"
GRANT = {"access_token": "eyJ.access", "token_type": "bearer", "refresh_token": "eyJ.refresh",
         "expires_in": 3599, "scope": "meeting:write:meeting meeting:read:meeting"}


@pytest.fixture
def zoom(settings):
    settings.ZOOM_AUTH_URL = "https://zoom.test/authorize"
    settings.ZOOM_TOKEN_URL = TOKEN_URL
    settings.ZOOM_REVOKE_URL = "https://zoom.test/revoke"
    settings.ZOOM_API_URL = "https://zoom.test/v2"
    settings.GOOGLE_AUTH_URL = "https://google.test/authorize"
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get("https://zoom.test/v2/users/me",
                   json={"id": "u1", "email": "marie@techcorp.com", "display_name": "Marie"})
        yield mocked
    client_cache_clear()


@pytest.fixture
def organization():
    return Organization.objects.create(name="TechCorp", slug="techcorp")


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("marie", password="pw-marie-1")


def _start(organization, user, provider: str = "zoom"):
    return connect_start(organization=organization, provider=provider, user=user, scopes=None,
                         settings=None, redirect_uri="https://hub.example/callback")


def _finish(organization, user, state: str, *, provider: str = "zoom", code: str = "c0de"):
    return connect_finish(organization=organization, provider=provider, user=user, code=code,
                          state=state)


def _refused(call) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        call()
    assert (refused.value.code, refused.value.status) == ("OAUTH_ERROR", 400)
    return refused.value


def _token_requests(mocked) -> int:
    return sum(1 for call in mocked.calls if call.request.url == TOKEN_URL)


def _nothing_stored(organization) -> None:
    integration = Integration.objects.get(organization=organization)
    assert integration.connection.status == Connection.Status.DISCONNECTED
    assert not integration.connection.credentials().access_token
    assert integration.permissions == [] and integration.account_email == ""


def test_it_refuses_a_state_used_once_already(zoom, organization, user):
    zoom.post(TOKEN_URL, json=GRANT)
    started = _start(organization, user)
    _finish(organization, user, started.state)

    error = _refused(lambda: _finish(organization, user, started.state))

    assert "already used" in error.message
    assert _token_requests(zoom) == 1


def test_it_refuses_an_expired_state(zoom, organization, user):
    started = _start(organization, user)
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        error = _refused(lambda: _finish(organization, user, started.state))
    assert "expired" in error.message
    assert _token_requests(zoom) == 0
    _nothing_stored(organization)


def test_it_refuses_a_tampered_state(zoom, organization, user):
    started = _start(organization, user)
    error = _refused(lambda: _finish(organization, user, started.state[:-2] + "xy"))
    assert "unknown" in error.message
    assert _token_requests(zoom) == 0
    _nothing_stored(organization)


def test_it_refuses_another_users_state(zoom, organization, user, django_user_model):
    started = _start(organization, user)
    intruder = django_user_model.objects.create_user("mallory", password="pw-mallory-1")
    error = _refused(lambda: _finish(organization, intruder, started.state))
    assert "another user" in error.message
    assert _token_requests(zoom) == 0
    # The rightful user may still finish.
    zoom.post(TOKEN_URL, json=GRANT)
    assert _finish(organization, user, started.state).permissions == [
        "manage_meetings", "read_meetings"]


def test_it_refuses_a_state_started_for_another_organisation(zoom, organization, user):
    started = _start(organization, user)
    other = Organization.objects.create(name="Other", slug="other")
    error = _refused(lambda: _finish(other, user, started.state))
    assert "another account" in error.message
    assert _token_requests(zoom) == 0
    _nothing_stored(organization)


def test_it_refuses_a_state_started_for_another_provider(zoom, organization, user):
    started = _start(organization, user, provider="google")
    _refused(lambda: _finish(organization, user, started.state, provider="zoom"))
    assert _token_requests(zoom) == 0


def test_it_refuses_a_code_the_provider_refuses(zoom, organization, user):
    zoom.post(TOKEN_URL, status=400, json={"reason": "Invalid authorization code c0de",
                                           "error": "invalid_grant"})
    started = _start(organization, user)
    error = _refused(lambda: _finish(organization, user, started.state))
    assert error.details["provider_error"] == "invalid_grant"
    _nothing_stored(organization)


def test_it_refuses_a_callback_without_a_code_when_the_user_declined(zoom, organization,
                                                                      user):
    # Declined at the provider: back with error=access_denied and no code.
    started = _start(organization, user)
    _refused(lambda: _finish(organization, user, started.state, code=""))
    assert _token_requests(zoom) == 0
    _nothing_stored(organization)
