"""The providers' OAuth registrations and the scope table, both ways."""

from __future__ import annotations

import pytest

from apps.core.errors import ServiceError
from apps.core.oauth import CLIENT_AUTH_BASIC, CLIENT_AUTH_FORM, oauth_provider_for
from apps.integrations.providers import (
    PROVIDER_NOT_SUPPORTED,
    permission_names,
    permissions_granted,
    provider_scopes,
)

GOOGLE_AUTH = "https://www.googleapis.com/auth/"


def test_it_translates_the_seed_scopes_to_googles():
    assert provider_scopes("google", ["calendar.read", "calendar.write", "events.manage"]) == (
        "openid", "email", "profile", GOOGLE_AUTH + "calendar.readonly",
        GOOGLE_AUTH + "calendar.events")


def test_it_asks_microsoft_for_offline_access_and_user_read_whatever_the_scopes():
    assert provider_scopes("microsoft", ["calendar.read"]) == (
        "openid", "profile", "email", "offline_access", "User.Read", "Calendars.Read")
    assert "Calendars.ReadWrite" in provider_scopes("microsoft", ["meetings.write"])


def test_it_translates_the_seed_scopes_to_slacks_bot_scopes():
    assert provider_scopes("slack", ["messages.write", "channels.read", "users.read"]) == (
        "chat:write", "channels:read", "users:read")
    assert provider_scopes("slack", None) == ("chat:write", "channels:read")


def test_it_translates_the_seed_scopes_to_zooms_granular_scopes():
    assert provider_scopes("zoom", ["meetings.read"]) == (
        "meeting:read:meeting", "meeting:read:list_past_participants")


def test_it_refuses_an_unknown_scope_naming_the_field():
    with pytest.raises(ServiceError) as refused:
        provider_scopes("google", ["calendar.read", "calendar.everything"])
    assert refused.value.status == 400
    assert refused.value.code == "validation_error"
    assert "calendar.everything" in refused.value.details["scopes"][0]


def test_it_refuses_a_scope_the_provider_has_no_equivalent_for():
    with pytest.raises(ServiceError) as refused:
        provider_scopes("slack", ["calendar.write"])
    assert refused.value.details["scopes"] == ["calendar.write is not available at Slack."]


def test_it_refuses_an_unknown_provider():
    with pytest.raises(ServiceError) as refused:
        provider_scopes("myspace", None)
    assert (refused.value.code, refused.value.status) == (PROVIDER_NOT_SUPPORTED, 400)


def test_it_reads_permissions_from_googles_granted_scopes():
    granted = ["openid", GOOGLE_AUTH + "userinfo.email", GOOGLE_AUTH + "calendar.readonly"]
    assert permissions_granted("google", granted) == {
        "read_calendar": True, "write_calendar": False, "manage_events": False}
    assert permission_names("google", [GOOGLE_AUTH + "calendar"]) == [
        "read_calendar", "write_calendar", "manage_events"]


def test_it_reads_graph_scopes_with_their_resource_and_in_any_case():
    granted = ["https://graph.microsoft.com/calendars.readwrite",
               "https://graph.microsoft.com/User.Read"]
    assert permission_names("microsoft", granted) == [
        "read_calendar", "write_calendar", "manage_events", "manage_meetings"]


def test_it_reads_slack_and_zoom_permissions():
    assert permission_names("slack", ["chat:write", "commands"]) == ["send_messages"]
    assert permissions_granted("zoom", ["meeting:read:meeting", "user:read:user"]) == {
        "manage_meetings": False, "read_meetings": True}


def test_each_provider_signs_in_as_it_documents():
    google, microsoft = oauth_provider_for("google"), oauth_provider_for("microsoft")
    slack, zoom = oauth_provider_for("slack"), oauth_provider_for("zoom")
    assert (google.client_auth, google.pkce, google.rotates_refresh_tokens) == (
        CLIENT_AUTH_FORM, True, False)
    assert dict(google.authorize_params) == {"access_type": "offline", "prompt": "consent"}
    assert (microsoft.pkce, microsoft.rotates_refresh_tokens) == (True, True)
    assert (slack.client_auth, slack.scope_separator, slack.pkce) == (CLIENT_AUTH_BASIC, ",",
                                                                      False)
    assert slack.rotates_refresh_tokens and slack.revoke_access_token
    assert (zoom.client_auth, zoom.pkce, zoom.rotates_refresh_tokens) == (
        CLIENT_AUTH_BASIC, True, True)
    assert zoom.default_scopes == ()


def test_its_urls_are_the_settings_of_the_moment(settings):
    settings.ZOOM_TOKEN_URL = "https://zoom.test/oauth/token"
    settings.MICROSOFT_REVOKE_URL = ""
    assert oauth_provider_for("zoom").token_url() == "https://zoom.test/oauth/token"
    assert oauth_provider_for("microsoft").revoke_url() == ""
