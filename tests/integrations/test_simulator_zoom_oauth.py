"""The Zoom simulator's OAuth: authorization codes, rotating refresh tokens,
revocation and the bearer check (error 124), driven over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from apps.core.simulator_kit.authcodes import pkce_challenge
from tests.integrations import zoom_fixtures
from tests.integrations.zoom_fixtures import (
    CLIENT_SECRET,
    REDIRECT_URI,
    zoom_authorize,
    zoom_code,
    zoom_connect,
    zoom_token,
)

# The fixture, where pytest finds it (an import would be an unused name for ruff).
zoom_simulator = zoom_fixtures.zoom_simulator


def _me(sim, token: str) -> requests.Response:
    return requests.get(f"{sim.base_url}/v2/users/me",
                        headers={"Authorization": f"Bearer {token}"}, timeout=5)


def _refresh(sim, refresh_token: str) -> requests.Response:
    return zoom_token(sim, grant_type="refresh_token", refresh_token=refresh_token)


def test_it_redirects_with_a_code_and_the_state(zoom_simulator):
    sim = zoom_simulator()
    response = zoom_authorize(sim)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["st"]
    assert query["code"][0]


def test_it_redirects_with_access_denied_when_consent_is_denied(zoom_simulator):
    sim = zoom_simulator()
    requests.post(f"{sim.base_url}/_sim/consent", json={"deny": True}, timeout=5)
    response = zoom_authorize(sim)
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {
        "error": ["access_denied"], "state": ["st"]}


def test_it_shows_an_error_page_for_a_bad_authorize_request(zoom_simulator):
    sim = zoom_simulator()
    for params in ({"client_id": "nobody"}, {"response_type": "token"}, {"redirect_uri": ""}):
        response = zoom_authorize(sim, **params)
        assert response.status_code == 400
        assert "Location" not in response.headers


def test_it_exchanges_a_code_for_tokens(zoom_simulator):
    sim = zoom_simulator()
    answer = zoom_connect(sim)
    assert set(answer) == {"access_token", "token_type", "refresh_token", "expires_in", "scope"}
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 3599
    assert "meeting:write:meeting" in answer["scope"].split()
    me = _me(sim, answer["access_token"])
    assert me.status_code == 200
    assert me.json()["email"] == sim.user["email"]


def test_it_refuses_a_code_used_twice_the_zoom_way(zoom_simulator):
    sim = zoom_simulator()
    code = zoom_code(zoom_authorize(sim))
    first = zoom_token(sim, grant_type="authorization_code", code=code,
                       redirect_uri=REDIRECT_URI)
    assert first.status_code == 200
    again = zoom_token(sim, grant_type="authorization_code", code=code,
                       redirect_uri=REDIRECT_URI)
    assert again.status_code == 400
    assert again.json() == {"reason": f"Invalid authorization code {code}",
                            "error": "invalid_grant"}


def test_it_refuses_a_code_after_five_minutes(zoom_simulator):
    sim = zoom_simulator()
    code = zoom_code(zoom_authorize(sim))
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 301}, timeout=5)
    refused = zoom_token(sim, grant_type="authorization_code", code=code,
                         redirect_uri=REDIRECT_URI)
    assert refused.status_code == 400
    assert refused.json() == {"reason": "Code is expired", "error": "invalid_grant"}


def test_it_refuses_a_wrong_redirect_verifier_client_or_grant(zoom_simulator):
    sim = zoom_simulator()
    wrong_redirect = zoom_token(sim, grant_type="authorization_code",
                                code=zoom_code(zoom_authorize(sim)),
                                redirect_uri="https://evil.example/cb")
    assert wrong_redirect.json() == {"reason": "Redirect URI mismatch.",
                                     "error": "invalid_request"}
    challenge = pkce_challenge("a" * 43)
    code = zoom_code(zoom_authorize(sim, code_challenge=challenge,
                                    code_challenge_method="S256"))
    wrong_verifier = zoom_token(sim, grant_type="authorization_code", code=code,
                                redirect_uri=REDIRECT_URI, code_verifier="b" * 43)
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["error"] == "invalid_grant"
    bad_client = zoom_token(sim, auth=(sim.client_id, "wrong"), grant_type="authorization_code",
                            code=zoom_code(zoom_authorize(sim)), redirect_uri=REDIRECT_URI)
    assert bad_client.status_code == 401
    assert bad_client.json() == {"reason": "Invalid client_id or client_secret",
                                 "error": "invalid_client"}
    assert zoom_token(sim, grant_type="password").json() == {
        "reason": "Unsupported grant type", "error": "unsupported_grant_type"}


def test_it_accepts_the_right_pkce_verifier(zoom_simulator):
    sim = zoom_simulator()
    verifier = "c" * 64
    code = zoom_code(zoom_authorize(sim, code_challenge=pkce_challenge(verifier),
                                    code_challenge_method="S256"))
    assert zoom_token(sim, grant_type="authorization_code", code=code,
                      redirect_uri=REDIRECT_URI, code_verifier=verifier).status_code == 200


def test_it_rotates_the_refresh_token_and_refuses_the_old_one(zoom_simulator):
    sim = zoom_simulator()
    first = zoom_connect(sim)
    second = _refresh(sim, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]
    assert rotated["expires_in"] == 3599
    assert _me(sim, rotated["access_token"]).status_code == 200
    stale = _refresh(sim, first["refresh_token"])
    assert stale.status_code == 400
    assert stale.json() == {"reason": "Invalid Token!", "error": "invalid_grant"}
    assert _refresh(sim, rotated["refresh_token"]).status_code == 200


def test_it_can_answer_a_stale_refresh_with_invalid_request(zoom_simulator):
    sim = zoom_simulator()
    requests.post(f"{sim.base_url}/_sim/options",
                  json={"stale_refresh_error": "invalid_request"}, timeout=5)
    first = zoom_connect(sim)
    _refresh(sim, first["refresh_token"])
    assert _refresh(sim, first["refresh_token"]).json() == {
        "reason": "Invalid Token!", "error": "invalid_request"}


def test_it_needs_the_client_credentials_to_refresh(zoom_simulator):
    sim = zoom_simulator()
    first = zoom_connect(sim)
    refused = requests.post(f"{sim.base_url}/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, timeout=5)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_it_revokes_the_whole_grant(zoom_simulator):
    sim = zoom_simulator()
    answer = zoom_connect(sim)
    revoked = requests.post(f"{sim.base_url}/oauth/revoke",
                            params={"token": answer["access_token"]},
                            auth=(sim.client_id, CLIENT_SECRET), timeout=5)
    assert revoked.status_code == 200
    assert revoked.json() == {"status": "success"}
    refused = _me(sim, answer["access_token"])
    assert refused.status_code == 401
    assert refused.json() == {"code": 124, "message": "Invalid access token."}
    assert _refresh(sim, answer["refresh_token"]).json()["reason"] == "Invalid Token!"
    again = requests.post(f"{sim.base_url}/oauth/revoke",
                          params={"token": answer["access_token"]},
                          auth=(sim.client_id, CLIENT_SECRET), timeout=5)
    assert again.status_code == 400


def test_it_answers_124_for_a_missing_unknown_or_expired_token(zoom_simulator):
    sim = zoom_simulator()
    missing = requests.get(f"{sim.base_url}/v2/users/me", timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {"code": 124, "message": "Invalid access token."}
    assert _me(sim, "nonsense").json() == {"code": 124, "message": "Invalid access token."}
    answer = zoom_connect(sim)
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 3599}, timeout=5)
    expired = _me(sim, answer["access_token"])
    assert expired.status_code == 401
    assert expired.json() == {"code": 124, "message": "Access token is expired."}


def test_it_refuses_a_token_without_the_scope(zoom_simulator):
    sim = zoom_simulator(scopes=("user:read:user",))
    token = zoom_connect(sim)["access_token"]
    refused = requests.post(f"{sim.base_url}/v2/users/me/meetings", json={"topic": "x"},
                            headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert refused.status_code == 400
    assert refused.json()["code"] == 4711


def test_it_points_the_hub_settings_at_the_simulator(settings, zoom_simulator):
    sim = zoom_simulator()
    urls = (settings.ZOOM_AUTH_URL, settings.ZOOM_TOKEN_URL, settings.ZOOM_REVOKE_URL,
            settings.ZOOM_API_URL)
    assert urls == (
        f"{sim.base_url}/oauth/authorize", f"{sim.base_url}/oauth/token",
        f"{sim.base_url}/oauth/revoke", f"{sim.base_url}/v2")
    credentials = (settings.ZOOM_CLIENT_ID, settings.ZOOM_CLIENT_SECRET)
    assert credentials == (sim.client_id, CLIENT_SECRET)
