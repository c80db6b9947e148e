"""The Google simulator's OAuth 2.0 over real HTTP: consent, code, refresh, revoke, userinfo."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import requests

from tests.integrations.conftest import REDIRECT_URI, GoogleApi

VERIFIER = secrets.token_urlsafe(64)


def _redirect_query(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def test_it_consents_at_once_and_redirects_with_code_state_and_scopes(google_simulator):
    api = GoogleApi(google_simulator())

    query = _redirect_query(api.authorize())

    assert query["state"] == "st4te"
    assert query["code"].startswith("4/0A")
    # email and profile come back as Google writes them.
    assert query["scope"] == ("openid https://www.googleapis.com/auth/userinfo.email "
                              "https://www.googleapis.com/auth/userinfo.profile "
                              "https://www.googleapis.com/auth/calendar")


def test_it_redirects_with_access_denied_when_the_user_refuses(google_simulator):
    api = GoogleApi(google_simulator())
    assert api.control("POST", "/consent", json={"deny": True}).status_code == 200

    query = _redirect_query(api.authorize())

    assert query == {"error": "access_denied", "state": "st4te"}


def test_it_shows_an_error_page_and_does_not_redirect_for_a_bad_client_or_redirect_uri(
        google_simulator):
    api = GoogleApi(google_simulator())
    api.control("POST", "/consent", json={"redirect_uris": [REDIRECT_URI]})

    unknown_client = api.authorize(client_id="someone-else")
    other_uri = api.authorize(redirect_uri="https://evil.test/callback")
    bad_scope = api.authorize(scope="https://www.googleapis.com/auth/drive")

    assert unknown_client.status_code == 401
    assert "Location" not in unknown_client.headers
    assert "text/html" in unknown_client.headers["Content-Type"]
    assert "invalid_client" in unknown_client.text
    assert other_uri.status_code == 400 and "redirect_uri_mismatch" in other_uri.text
    assert "Location" not in other_uri.headers
    assert bad_scope.status_code == 400 and "invalid_scope" in bad_scope.text


def test_it_exchanges_a_code_once_for_tokens(google_simulator):
    api = GoogleApi(google_simulator())
    code = api.code(VERIFIER)

    first = api.exchange(code, VERIFIER)
    second = api.exchange(code, VERIFIER)

    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["refresh_token"]
    assert "https://www.googleapis.com/auth/calendar" in body["scope"].split()
    assert first.headers["Cache-Control"] == "no-store"
    assert second.status_code == 400
    assert second.json() == {"error": "invalid_grant",
                             "error_description": "Code was already redeemed."}


def test_it_refuses_a_code_older_than_ten_minutes_on_its_clock(google_simulator):
    api = GoogleApi(google_simulator())
    code = api.code(VERIFIER)
    api.control("POST", "/advance", json={"seconds": 601})

    answer = api.exchange(code, VERIFIER)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_it_binds_the_code_to_the_pkce_verifier_and_the_redirect_uri(google_simulator):
    api = GoogleApi(google_simulator())

    wrong_verifier = api.exchange(api.code(VERIFIER), secrets.token_urlsafe(64))
    no_verifier = api.exchange(api.code(VERIFIER))
    other_uri = api.exchange(api.code(VERIFIER), VERIFIER,
                             redirect_uri="http://hub.test/elsewhere")

    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json() == {"error": "invalid_grant",
                                     "error_description": "Invalid code verifier."}
    assert no_verifier.json() == {"error": "invalid_grant",
                                  "error_description": "Missing code verifier."}
    assert other_uri.status_code == 400
    assert other_uri.json()["error"] == "redirect_uri_mismatch"


def test_it_refuses_a_wrong_client_secret_with_401(google_simulator):
    api = GoogleApi(google_simulator())

    answer = api.exchange(api.code(VERIFIER), VERIFIER, client_secret="wrong")
    unknown = api.token(grant_type="refresh_token", refresh_token="x", client_id="nobody")

    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client", "error_description": "Unauthorized"}
    assert unknown.status_code == 401
    assert unknown.json()["error_description"] == "The OAuth client was not found."


def test_it_refreshes_without_rotating_the_refresh_token(google_api):
    first = google_api.token(grant_type="refresh_token", refresh_token=google_api.refresh_token)
    second = google_api.token(grant_type="refresh_token", refresh_token=google_api.refresh_token)

    assert first.status_code == 200 and second.status_code == 200
    assert "refresh_token" not in first.json()
    assert first.json()["expires_in"] == 3599
    assert first.json()["token_type"] == "Bearer"
    assert first.json()["access_token"] != second.json()["access_token"]
    google_api.access_token = second.json()["access_token"]
    assert google_api.call("GET", "/calendars/primary").status_code == 200


def test_it_gives_a_refresh_token_only_on_first_consent_unless_prompted_again(google_simulator):
    api = GoogleApi(google_simulator())

    first = api.exchange(api.code(VERIFIER, prompt=""), VERIFIER).json()
    again = api.exchange(api.code(VERIFIER, prompt=""), VERIFIER).json()
    prompted = api.exchange(api.code(VERIFIER, prompt="consent"), VERIFIER).json()
    online = api.exchange(api.code(VERIFIER, access_type="online"), VERIFIER).json()

    assert "refresh_token" in first
    assert "refresh_token" not in again
    assert "refresh_token" in prompted
    assert "refresh_token" not in online


def test_a_revoked_refresh_token_ends_the_grant(google_api):
    revoked = requests.post(f"{google_api.url}/revoke",
                            data={"token": google_api.refresh_token}, timeout=5)
    refresh = google_api.token(grant_type="refresh_token",
                               refresh_token=google_api.refresh_token)
    again = requests.post(f"{google_api.url}/revoke",
                          data={"token": google_api.refresh_token}, timeout=5)

    assert revoked.status_code == 200
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "invalid_grant",
                              "error_description": "Token has been expired or revoked."}
    # The access tokens of the grant go with it.
    assert google_api.call("GET", "/calendars/primary").status_code == 401
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_token"


def test_revoking_the_access_token_revokes_its_refresh_token_too(google_api):
    revoked = requests.post(f"{google_api.url}/revoke",
                            params={"token": google_api.access_token}, timeout=5)
    refresh = google_api.token(grant_type="refresh_token",
                               refresh_token=google_api.refresh_token)

    assert revoked.status_code == 200
    assert refresh.json()["error"] == "invalid_grant"


def test_the_user_removing_access_revokes_every_grant(google_api):
    assert google_api.control("POST", "/revoke-access").json() == {"revoked_grants": 1}

    refresh = google_api.token(grant_type="refresh_token",
                               refresh_token=google_api.refresh_token)

    assert refresh.json()["error_description"] == "Token has been expired or revoked."


def test_userinfo_answers_what_the_scopes_allow(google_simulator):
    full = GoogleApi(google_simulator(user_email="ada@example.com",
                                      user_name="Ada Lovelace")).connect()
    calendar_only = GoogleApi(full.sim).connect(scope="https://www.googleapis.com/auth/calendar")

    info = requests.get(f"{full.url}/oauth2/v3/userinfo", timeout=5,
                        headers={"Authorization": f"Bearer {full.access_token}"})
    bare = requests.get(f"{full.url}/oauth2/v3/userinfo", timeout=5,
                        headers={"Authorization": f"Bearer {calendar_only.access_token}"})
    refused = requests.get(f"{full.url}/oauth2/v3/userinfo", timeout=5,
                           headers={"Authorization": "Bearer nope"})

    assert info.json()["email"] == "ada@example.com"
    assert info.json()["email_verified"] is True
    assert info.json()["name"] == "Ada Lovelace"
    assert info.json()["given_name"] == "Ada" and info.json()["family_name"] == "Lovelace"
    assert info.json()["picture"].startswith("https://")
    assert set(bare.json()) == {"sub"}
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_request",
                              "error_description": "Invalid Credentials"}


def test_the_hubs_settings_reach_the_served_simulator_with_the_hubs_client(
        google_simulator, settings):
    sim = google_simulator()
    consent = requests.get(settings.GOOGLE_AUTH_URL, allow_redirects=False, timeout=5, params={
        "client_id": settings.GOOGLE_CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "response_type": "code", "scope": "email https://www.googleapis.com/auth/calendar",
        "access_type": "offline"})
    code = _redirect_query(consent)["code"]

    tokens = requests.post(settings.GOOGLE_TOKEN_URL, timeout=5, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": settings.GOOGLE_CLIENT_ID,
        "client_secret": settings.GOOGLE_CLIENT_SECRET}).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = requests.get(settings.GOOGLE_USERINFO_URL, headers=bearer, timeout=5)
    events = requests.get(f"{settings.GOOGLE_API_URL}/calendars/primary/events", headers=bearer,
                          timeout=5)
    revoked = requests.post(settings.GOOGLE_REVOKE_URL, data={"token": tokens["refresh_token"]},
                            timeout=5)

    assert sim.client_id == settings.GOOGLE_CLIENT_ID
    assert info.json()["email"] == "sim.user@example.com"
    assert events.status_code == 200
    assert revoked.status_code == 200


def test_a_verifier_for_a_code_without_challenge_is_refused(google_simulator):
    api = GoogleApi(google_simulator())

    answer = api.exchange(api.code(), VERIFIER)

    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant",
                             "error_description": "code_verifier or verifier is not needed."}
