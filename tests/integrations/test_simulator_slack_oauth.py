"""The Slack simulator's OAuth v2 installation, token rotation and revocation,
driven over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from apps.core.simulator_kit.authcodes import pkce_challenge
from tests.integrations import slack_fixtures
from tests.integrations.slack_fixtures import CLIENT_SECRET, slack_install

# The fixture, where pytest finds it (an import would be an unused name for ruff).
slack_simulator = slack_fixtures.slack_simulator

REDIRECT = "https://hub.example/callback"


def _authorize(sim, **params) -> requests.Response:
    query = {"client_id": sim.client_id, "scope": "chat:write,channels:read",
             "redirect_uri": REDIRECT, "state": "xyz", **params}
    return requests.get(f"{sim.base_url}/oauth/v2/authorize", params=query,
                        allow_redirects=False, timeout=5)


def _code(response: requests.Response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def _access(sim, auth=(None, None), **form) -> dict:
    basic = None if auth == (None, None) else auth
    return requests.post(f"{sim.base_url}/api/oauth.v2.access", data=form, auth=basic,
                         timeout=5).json()


def _api(sim, name: str, token: str, **form) -> requests.Response:
    return requests.post(f"{sim.base_url}/api/{name}", data=form,
                         headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_it_redirects_with_a_code_and_the_state(slack_simulator):
    sim = slack_simulator()
    response = _authorize(sim)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    assert query["code"][0]


def test_it_redirects_with_access_denied_when_consent_is_denied(slack_simulator):
    sim = slack_simulator()
    requests.post(f"{sim.base_url}/_sim/consent", json={"deny": True}, timeout=5)
    response = _authorize(sim)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {
        "error": ["access_denied"], "state": ["xyz"]}


def test_it_shows_an_error_page_for_a_bad_client_or_scope(slack_simulator):
    sim = slack_simulator()
    for params in ({"client_id": "someone-else"}, {"scope": "chat:write,admin"},
                   {"redirect_uri": ""}):
        response = _authorize(sim, **params)
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert response.headers["Content-Type"].startswith("text/html")


def test_it_exchanges_a_code_for_a_rotating_bot_token(slack_simulator):
    sim = slack_simulator()
    answer = _access(sim, (sim.client_id, CLIENT_SECRET), code=_code(_authorize(sim)),
                     redirect_uri=REDIRECT)
    assert answer["ok"] is True
    assert answer["token_type"] == "bot"
    assert answer["access_token"].startswith("xoxe.xoxb-1-")
    assert answer["refresh_token"].startswith("xoxe-1-")
    assert answer["expires_in"] == 43_200
    assert answer["scope"] == "chat:write,channels:read"
    assert answer["team"] == {"id": sim.team["id"], "name": sim.team["name"]}
    assert answer["bot_user_id"] == sim.bot_user_id
    assert answer["app_id"] == sim.app_id
    assert answer["authed_user"] == {"id": sim.installer_user_id}
    assert _api(sim, "auth.test", answer["access_token"]).json()["ok"] is True


def test_it_takes_the_client_credentials_in_the_form_too(slack_simulator):
    sim = slack_simulator()
    answer = _access(sim, code=_code(_authorize(sim)), redirect_uri=REDIRECT,
                     client_id=sim.client_id, client_secret=CLIENT_SECRET)
    assert answer["ok"] is True


def test_it_refuses_a_code_used_twice(slack_simulator):
    sim = slack_simulator()
    code = _code(_authorize(sim))
    assert _access(sim, (sim.client_id, CLIENT_SECRET), code=code,
                   redirect_uri=REDIRECT)["ok"] is True
    response = requests.post(f"{sim.base_url}/api/oauth.v2.access",
                             data={"code": code, "redirect_uri": REDIRECT},
                             auth=(sim.client_id, CLIENT_SECRET), timeout=5)
    # Slack's errors are HTTP 200 with ok false.
    assert response.status_code == 200
    assert response.json() == {"ok": False, "error": "invalid_code"}


def test_it_refuses_a_code_after_ten_minutes(slack_simulator):
    sim = slack_simulator()
    code = _code(_authorize(sim))
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 601}, timeout=5)
    assert _access(sim, (sim.client_id, CLIENT_SECRET), code=code,
                   redirect_uri=REDIRECT)["error"] == "invalid_code"


def test_it_refuses_another_redirect_uri_and_a_wrong_client(slack_simulator):
    sim = slack_simulator()
    assert _access(sim, (sim.client_id, CLIENT_SECRET), code=_code(_authorize(sim)),
                   redirect_uri="https://evil.example/cb")["error"] == "bad_redirect_uri"
    assert _access(sim, (sim.client_id, "wrong"), code=_code(_authorize(sim)),
                   redirect_uri=REDIRECT)["error"] == "bad_client_secret"
    assert _access(sim, ("nobody", CLIENT_SECRET), code=_code(_authorize(sim)),
                   redirect_uri=REDIRECT)["error"] == "invalid_client_id"
    assert _access(sim, (sim.client_id, CLIENT_SECRET), grant_type="password",
                   code="x")["error"] == "invalid_grant_type"


def test_it_binds_the_code_to_the_pkce_verifier(slack_simulator):
    sim = slack_simulator()
    verifier = "v" * 50
    consent = _authorize(sim, code_challenge=pkce_challenge(verifier),
                         code_challenge_method="S256")
    assert _access(sim, (sim.client_id, CLIENT_SECRET), code=_code(consent),
                   redirect_uri=REDIRECT, code_verifier="w" * 50)["error"] == "invalid_code"
    consent = _authorize(sim, code_challenge=pkce_challenge(verifier),
                         code_challenge_method="S256")
    assert _access(sim, (sim.client_id, CLIENT_SECRET), code=_code(consent),
                   redirect_uri=REDIRECT, code_verifier=verifier)["ok"] is True


def test_it_rotates_both_tokens_and_refuses_the_spent_refresh_token(slack_simulator):
    sim = slack_simulator()
    first = slack_install(sim)
    second = _access(sim, (sim.client_id, CLIENT_SECRET), grant_type="refresh_token",
                     refresh_token=first["refresh_token"])
    assert second["ok"] is True
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 43_200
    # The refreshed token keeps the installation's scopes.
    assert _api(sim, "chat.postMessage", second["access_token"], channel="#general",
                text="still allowed").json()["ok"] is True
    again = _access(sim, (sim.client_id, CLIENT_SECRET), grant_type="refresh_token",
                    refresh_token=first["refresh_token"])
    assert again == {"ok": False, "error": "invalid_refresh_token"}
    # The newest one still works.
    assert _access(sim, (sim.client_id, CLIENT_SECRET), grant_type="refresh_token",
                   refresh_token=second["refresh_token"])["ok"] is True


def test_it_expires_a_rotating_access_token_after_twelve_hours(slack_simulator):
    sim = slack_simulator()
    answer = slack_install(sim)
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 43_200}, timeout=5)
    assert _api(sim, "auth.test", answer["access_token"]).json() == {
        "ok": False, "error": "token_expired"}


def test_it_gives_a_lasting_token_without_rotation(slack_simulator):
    sim = slack_simulator()
    requests.post(f"{sim.base_url}/_sim/token-rotation", json={"enabled": False}, timeout=5)
    answer = slack_install(sim)
    assert answer["access_token"].startswith("xoxb-")
    assert "refresh_token" not in answer
    assert "expires_in" not in answer
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 365 * 24 * 3600},
                  timeout=5)
    assert _api(sim, "auth.test", answer["access_token"]).json()["ok"] is True


def test_it_revokes_every_token_of_the_installation(slack_simulator):
    sim = slack_simulator()
    answer = slack_install(sim)
    revoked = _api(sim, "auth.revoke", answer["access_token"]).json()
    assert revoked == {"ok": True, "revoked": True}
    assert _api(sim, "auth.test", answer["access_token"]).json() == {
        "ok": False, "error": "token_revoked"}
    assert _access(sim, (sim.client_id, CLIENT_SECRET), grant_type="refresh_token",
                   refresh_token=answer["refresh_token"])["error"] == "invalid_refresh_token"


def test_it_keeps_the_token_on_a_test_revocation(slack_simulator):
    sim = slack_simulator()
    answer = slack_install(sim)
    assert _api(sim, "auth.revoke", answer["access_token"], test="1").json() == {
        "ok": True, "revoked": False}
    assert _api(sim, "auth.test", answer["access_token"]).json()["ok"] is True


def test_it_tells_a_missing_token_from_an_unknown_one(slack_simulator):
    sim = slack_simulator()
    missing = requests.post(f"{sim.base_url}/api/auth.test", timeout=5).json()
    assert missing == {"ok": False, "error": "not_authed"}
    assert _api(sim, "auth.test", "xoxb-nonsense").json() == {
        "ok": False, "error": "invalid_auth"}


def test_it_points_the_hub_settings_at_the_simulator(settings, slack_simulator):
    sim = slack_simulator()
    urls = (settings.SLACK_AUTH_URL, settings.SLACK_TOKEN_URL, settings.SLACK_REVOKE_URL,
            settings.SLACK_API_URL)
    assert urls == (
        f"{sim.base_url}/oauth/v2/authorize", f"{sim.base_url}/api/oauth.v2.access",
        f"{sim.base_url}/api/auth.revoke", f"{sim.base_url}/api")
    credentials = (settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET)
    assert credentials == (sim.client_id, CLIENT_SECRET)
