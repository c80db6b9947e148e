"""Connecting each provider: the authorization URL it is sent to, then the
callback (code exchanged as the provider takes it, who the account is, the
permissions granted). The providers' token endpoints and APIs answer with
their real shapes through `responses`."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.connections import client_cache_clear
from apps.core.errors import ServiceError
from apps.core.models import Connection, OAuthState, SyncRun
from apps.core.oauth import pkce_challenge
from apps.integrations.connect import connect_finish, connect_start
from apps.integrations.models import ORGANIZATION_TENANT, Integration, Organization

pytestmark = pytest.mark.django_db

REDIRECT = "https://hub.example/integrations/callback"
GOOGLE_AUTH = "https://www.googleapis.com/auth/"


@pytest.fixture
def providers(settings):
    """Every provider's endpoints at a test host of its own."""
    for name, host in (("GOOGLE", "google.test"), ("MICROSOFT", "microsoft.test"),
                       ("SLACK", "slack.test"), ("ZOOM", "zoom.test")):
        setattr(settings, f"{name}_AUTH_URL", f"https://{host}/authorize")
        setattr(settings, f"{name}_TOKEN_URL", f"https://{host}/token")
        setattr(settings, f"{name}_REVOKE_URL", f"https://{host}/revoke")
        setattr(settings, f"{name}_API_URL", f"https://{host}/api")
        setattr(settings, f"{name}_CLIENT_ID", f"{host}-client")
        setattr(settings, f"{name}_CLIENT_SECRET", f"{host}-secret")
    settings.MICROSOFT_REVOKE_URL = ""
    settings.GOOGLE_USERINFO_URL = "https://google.test/userinfo"
    client_cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked
    client_cache_clear()


@pytest.fixture
def organization():
    return Organization.objects.create(name="TechCorp", slug="techcorp")


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("marie", password="pw-marie-1")


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _form(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body).items()}


def _start(organization, user, provider: str, **kwargs):
    return connect_start(organization=organization, provider=provider, user=user,
                         scopes=kwargs.pop("scopes", None), settings=kwargs.pop("settings", None),
                         redirect_uri=REDIRECT)


def test_it_sends_the_user_to_google_with_pkce_and_offline_access(providers, organization,
                                                                     user):
    started = _start(organization, user, "google",
                     scopes=["calendar.read", "calendar.write"],
                     settings={"syncDirection": "bidirectional", "autoSync": True})

    query = _query(started.auth_url)
    assert started.auth_url.startswith("https://google.test/authorize?")
    assert query["client_id"] == "google.test-client"
    assert query["redirect_uri"] == REDIRECT and query["state"] == started.state
    assert query["scope"] == (f"openid email profile {GOOGLE_AUTH}calendar.readonly "
                              f"{GOOGLE_AUTH}calendar.events")
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert started.scopes == ["calendar.read", "calendar.write"]
    assert started.provider == "google"
    assert abs(started.expires_at - (timezone.now() + timedelta(minutes=10))) \
        < timedelta(seconds=5)
    integration = Integration.objects.get()
    assert (integration.provider, integration.type, integration.name) == (
        "google", "calendar", "Google Calendar")
    assert integration.settings == {"syncDirection": "bidirectional", "autoSync": True}
    connection = integration.connection
    assert connection.status == Connection.Status.DISCONNECTED
    assert (connection.tenant_type, connection.tenant_id) == (ORGANIZATION_TENANT,
                                                              str(organization.pk))
    assert connection.credentials().client_secret == "google.test-secret"
    assert OAuthState.objects.get().user == user


def test_it_reuses_the_integration_not_yet_connected(providers, organization, user):
    first = _start(organization, user, "google")
    second = _start(organization, user, "google", settings={"calendarId": "work"})

    assert first.state != second.state
    integration = Integration.objects.get()
    assert integration.settings == {"calendarId": "work"}
    assert OAuthState.objects.filter(connection=integration.connection).count() == 2


def test_it_refuses_settings_the_provider_does_not_take_naming_the_field(providers,
                                                                        organization, user):
    with pytest.raises(ValidationError) as refused:
        _start(organization, user, "google", settings={"colour": "blue"})
    assert list(refused.value.message_dict) == ["settings.colour"]
    assert not Integration.objects.exists() and not Connection.objects.exists()


def test_it_refuses_an_unknown_provider_and_a_bad_scope_storing_nothing(providers,
                                                                       organization, user):
    with pytest.raises(ServiceError) as unknown:
        _start(organization, user, "myspace")
    assert unknown.value.code == "PROVIDER_NOT_SUPPORTED"
    with pytest.raises(ServiceError) as bad_scope:
        _start(organization, user, "zoom", scopes=["calendar.read"])
    assert bad_scope.value.status == 400 and "scopes" in bad_scope.value.details
    assert not Integration.objects.exists() and not Connection.objects.exists()


def test_it_connects_google(providers, organization, user):
    started = _start(organization, user, "google")
    providers.post("https://google.test/token", json={
        "access_token": "ya29.access-1", "expires_in": 3599, "refresh_token": "1//refresh-1",
        "token_type": "Bearer", "id_token": "eyJ.x.y",
        "scope": f"openid {GOOGLE_AUTH}userinfo.email {GOOGLE_AUTH}userinfo.profile "
                 f"{GOOGLE_AUTH}calendar.readonly {GOOGLE_AUTH}calendar.events"})
    providers.get("https://google.test/userinfo", json={
        "sub": "1075", "email": "marie.dubois@gmail.com", "email_verified": True,
        "name": "Marie Dubois", "picture": "https://lh3.googleusercontent.com/a/photo"})

    result = connect_finish(organization=organization, provider="google", user=user,
                            code="4/0Aean", state=started.state)

    exchange = _form(providers.calls[0].request)
    assert exchange["grant_type"] == "authorization_code" and exchange["code"] == "4/0Aean"
    # Google takes the client's credentials in the form.
    assert exchange["client_id"] == "google.test-client"
    assert exchange["client_secret"] == "google.test-secret"
    verifier = OAuthState.objects.get().encrypted_verifier
    assert verifier and pkce_challenge(exchange["code_verifier"]) == _query(
        started.auth_url)["code_challenge"]
    assert providers.calls[1].request.headers["Authorization"] == "Bearer ya29.access-1"
    integration = Integration.objects.get()
    assert result.integration == integration
    assert result.user_info == {"email": "marie.dubois@gmail.com", "name": "Marie Dubois",
                                "avatar": "https://lh3.googleusercontent.com/a/photo"}
    assert result.permissions == ["read_calendar", "write_calendar", "manage_events"]
    # The first sync is started (a worker takes it after the commit).
    assert result.initial_sync == {"status": "scheduled", "estimatedDuration": "a few minutes"}
    assert SyncRun.objects.get().trigger == SyncRun.Trigger.AUTOMATIC
    assert integration.account_email == "marie.dubois@gmail.com"
    assert integration.account_name == "Marie Dubois"
    assert integration.permissions == result.permissions
    connection = Connection.objects.get()
    assert connection.status == Connection.Status.CONNECTED
    assert connection.connected_by == user and connection.connected_at
    assert connection.credentials().refresh_token == "1//refresh-1"


def test_it_connects_microsoft(providers, organization, user):
    started = _start(organization, user, "microsoft")
    query = _query(started.auth_url)
    assert query["scope"].split() == ["openid", "profile", "email", "offline_access",
                                      "User.Read", "Calendars.Read", "Calendars.ReadWrite"]
    assert query["code_challenge_method"] == "S256"
    providers.post("https://microsoft.test/token", json={
        "token_type": "Bearer", "expires_in": 4419, "ext_expires_in": 4419,
        "scope": "https://graph.microsoft.com/Calendars.Read "
                 "https://graph.microsoft.com/Calendars.ReadWrite "
                 "https://graph.microsoft.com/User.Read",
        "access_token": "eyJ0eXAi.ms-1", "refresh_token": "0.AAAA-ms-refresh-1"})
    providers.get("https://microsoft.test/api/me", json={
        "id": "87d349ed", "displayName": "Marie Dubois", "mail": None,
        "userPrincipalName": "marie.dubois@techcorp.com"})

    result = connect_finish(organization=organization, provider="microsoft", user=user,
                            code="0.AXYA", state=started.state)

    exchange = _form(providers.calls[0].request)
    assert exchange["client_secret"] == "microsoft.test-secret" and exchange["code_verifier"]
    assert result.user_info == {"email": "marie.dubois@techcorp.com", "name": "Marie Dubois",
                                "avatar": ""}
    assert result.permissions == ["read_calendar", "write_calendar", "manage_events",
                                  "manage_meetings"]


def test_it_connects_slack(providers, organization, user):
    started = _start(organization, user, "slack")
    query = _query(started.auth_url)
    assert query["scope"] == "chat:write,channels:read"
    # PKCE would make the Slack app a public client for good.
    assert "code_challenge" not in query
    providers.post("https://slack.test/token", json={
        "ok": True, "access_token": "xoxe.xoxb-1-bot", "token_type": "bot",
        "scope": "chat:write,channels:read", "bot_user_id": "U0KRQLJ9H", "app_id": "A0KRD7HC3",
        "team": {"name": "TechCorp", "id": "T9TK3CUKW"}, "enterprise": None,
        "authed_user": {"id": "U1234"}, "is_enterprise_install": False,
        "expires_in": 43200, "refresh_token": "xoxe-1-refresh"})
    providers.post("https://slack.test/api/auth.test", json={
        "ok": True, "url": "https://techcorp.slack.com/", "team": "TechCorp",
        "user": "hub-bot", "team_id": "T9TK3CUKW", "user_id": "U0KRQLJ9H", "bot_id": "B01"})

    result = connect_finish(organization=organization, provider="slack", user=user,
                            code="4724469134.4644", state=started.state)

    token_request = providers.calls[0].request
    expected = base64.b64encode(b"slack.test-client:slack.test-secret").decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in _form(token_request)
    assert result.user_info == {"email": "", "name": "TechCorp (hub-bot)", "avatar": ""}
    assert result.permissions == ["send_messages", "read_channels"]
    connection = Connection.objects.get()
    assert connection.granted_scopes == ["chat:write", "channels:read"]
    assert connection.credentials().refresh_token == "xoxe-1-refresh"


def test_it_connects_zoom(providers, organization, user):
    started = _start(organization, user, "zoom")
    query = _query(started.auth_url)
    # Zoom's scopes are the app's own: none are sent.
    assert "scope" not in query and query["code_challenge_method"] == "S256"
    providers.post("https://zoom.test/token", json={
        "access_token": "eyJzb29t.access", "token_type": "bearer",
        "refresh_token": "eyJzb29t.refresh", "expires_in": 3599,
        "scope": "meeting:write:meeting meeting:read:meeting user:read:user"})
    providers.get("https://zoom.test/api/users/me", json={
        "id": "KDcuGIm1QgePTO8WbOqwIQ", "first_name": "Marie", "last_name": "Dubois",
        "display_name": "Marie Dubois", "email": "marie@techcorp.com", "type": 2,
        "pic_url": "https://zoom.us/p/photo"})

    result = connect_finish(organization=organization, provider="zoom", user=user,
                            code="obBEe8ewaL", state=started.state)

    expected = base64.b64encode(b"zoom.test-client:zoom.test-secret").decode()
    assert providers.calls[0].request.headers["Authorization"] == f"Basic {expected}"
    assert result.user_info == {"email": "marie@techcorp.com", "name": "Marie Dubois",
                                "avatar": "https://zoom.us/p/photo"}
    assert result.permissions == ["manage_meetings", "read_meetings"]
