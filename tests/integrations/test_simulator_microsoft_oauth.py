"""The Microsoft simulator's identity platform over real HTTP: consent, codes,
PKCE, rotating refresh tokens and AAD's error bodies."""

from __future__ import annotations

import secrets

import jwt
import pytest
import requests

from tests.integrations import microsoft_fixtures
from tests.integrations.microsoft_fixtures import (
    REDIRECT_URI,
    Graph,
    authorize,
    connect,
    control,
    redirect_params,
    token,
)

# The fixtures, where pytest finds them (an import would be an unused name for ruff).
microsoft_simulator = microsoft_fixtures.microsoft_simulator

AAD_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id",
            "correlation_id", "error_uri"}


@pytest.fixture
def sim(microsoft_simulator):
    return microsoft_simulator()


def _code(sim, verifier: str) -> str:
    return redirect_params(authorize(sim, verifier=verifier))["code"]


def _redeem(sim, code: str, verifier: str) -> requests.Response:
    return token(sim, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
                 code_verifier=verifier)


def _refused(response: requests.Response, error: str, code: int) -> dict:
    body = response.json()
    assert set(body) == AAD_KEYS, body
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    return body


def test_it_points_the_hub_settings_at_the_simulator(settings, sim):
    urls = {"auth": settings.MICROSOFT_AUTH_URL, "token": settings.MICROSOFT_TOKEN_URL,
            "api": settings.MICROSOFT_API_URL, "revoke": settings.MICROSOFT_REVOKE_URL}
    assert urls == {"auth": f"{sim.base_url}/common/oauth2/v2.0/authorize",
                    "token": f"{sim.base_url}/common/oauth2/v2.0/token",
                    "api": f"{sim.base_url}/v1.0", "revoke": ""}


def test_it_consents_automatically_and_redirects_with_code_and_state(sim):
    params = redirect_params(authorize(sim, verifier="v" * 50, state="abc"))
    assert params["state"] == "abc"
    assert params["code"] and params["session_state"]


def test_it_redirects_access_denied_when_consent_is_denied(sim):
    control(sim, "POST", "/identity", {"consent": "deny"})
    params = redirect_params(authorize(sim, state="abc"))
    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS65004")
    assert params["state"] == "abc"
    assert "code" not in params


def test_it_shows_an_error_page_instead_of_redirecting_an_unknown_client(sim):
    response = authorize(sim, client_id="someone-else")
    assert response.status_code == 400
    assert "AADSTS700016" in response.text
    assert "Location" not in response.headers


def test_it_redirects_an_unknown_scope_as_invalid_scope(sim):
    params = redirect_params(authorize(sim, scope="Mail.Send"))
    assert params["error"] == "invalid_scope"
    assert params["error_description"].startswith("AADSTS70011")


def test_it_exchanges_a_code_for_tokens_with_pkce(sim):
    answer = connect(sim)
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3599 and answer["ext_expires_in"] == 3599
    assert answer["scope"] == "Calendars.ReadWrite OnlineMeetings.ReadWrite User.Read"
    assert answer["access_token"] and answer["refresh_token"]


def test_it_gives_no_refresh_token_without_offline_access(sim):
    answer = connect(sim, scope="Calendars.ReadWrite User.Read")
    assert "refresh_token" not in answer


def test_it_refuses_a_code_twice(sim):
    verifier = secrets.token_urlsafe(64)
    code = _code(sim, verifier)
    assert _redeem(sim, code, verifier).status_code == 200
    _refused(_redeem(sim, code, verifier), "invalid_grant", 54005)


def test_it_refuses_an_expired_code(sim):
    verifier = secrets.token_urlsafe(64)
    code = _code(sim, verifier)
    control(sim, "POST", "/advance", {"seconds": 601})
    _refused(_redeem(sim, code, verifier), "invalid_grant", 70008)


def test_it_refuses_a_wrong_pkce_verifier(sim):
    code = _code(sim, secrets.token_urlsafe(64))
    _refused(_redeem(sim, code, secrets.token_urlsafe(64)), "invalid_grant", 50148)


def test_it_refuses_a_missing_pkce_verifier(sim):
    code = _code(sim, secrets.token_urlsafe(64))
    response = token(sim, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    _refused(response, "invalid_request", 900144)


def test_it_refuses_another_redirect_uri(sim):
    verifier = secrets.token_urlsafe(64)
    code = _code(sim, verifier)
    response = token(sim, grant_type="authorization_code", code=code,
                     redirect_uri="https://evil.example/cb", code_verifier=verifier)
    _refused(response, "invalid_grant", 70000)


def test_it_refuses_a_wrong_secret_with_401(sim):
    response = token(sim, secret="wrong", grant_type="refresh_token", refresh_token="x")
    assert response.status_code == 401
    _refused(response, "invalid_client", 7000215)


def test_it_accepts_the_secret_in_basic_auth(sim):
    verifier = secrets.token_urlsafe(64)
    code = _code(sim, verifier)
    response = requests.post(f"{sim.base_url}/common/oauth2/v2.0/token", timeout=5,
                             auth=("simulator-microsoft-client", "simulator-microsoft-secret"),
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert response.status_code == 200, response.text


def test_it_rotates_refresh_tokens_and_keeps_old_ones_working(sim):
    first = connect(sim)["refresh_token"]
    second = token(sim, grant_type="refresh_token", refresh_token=first).json()
    assert second["refresh_token"] != first
    # Microsoft does not revoke a used refresh token: two workers refreshing
    # with the same one both get tokens.
    again = token(sim, grant_type="refresh_token", refresh_token=first)
    assert again.status_code == 200
    assert again.json()["refresh_token"] not in (first, second["refresh_token"])
    third = token(sim, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 200
    assert sim.identity.state()["refreshes"] == 3


def test_it_refuses_a_used_refresh_token_when_told_to_rotate_strictly(sim):
    first = connect(sim)["refresh_token"]
    control(sim, "POST", "/identity", {"refresh_token_reuse": "refused"})
    second = token(sim, grant_type="refresh_token", refresh_token=first)
    assert second.status_code == 200
    _refused(token(sim, grant_type="refresh_token", refresh_token=first), "invalid_grant", 70000)
    assert token(sim, grant_type="refresh_token",
                 refresh_token=second.json()["refresh_token"]).status_code == 200


def test_it_refuses_revoked_refresh_tokens_with_aadsts50173(sim):
    answer = connect(sim)
    control(sim, "POST", "/revoke", {})
    body = _refused(token(sim, grant_type="refresh_token", refresh_token=answer["refresh_token"]),
                    "invalid_grant", 50173)
    assert "revoked" in body["error_description"]


def test_it_expires_refresh_tokens_after_90_days_of_inactivity(sim):
    refresh = connect(sim)["refresh_token"]
    control(sim, "POST", "/advance", {"seconds": 90 * 24 * 3600 + 1})
    _refused(token(sim, grant_type="refresh_token", refresh_token=refresh), "invalid_grant",
             700082)


def test_it_refuses_an_unknown_grant_type(sim):
    _refused(token(sim, grant_type="password"), "unsupported_grant_type", 70003)


def test_it_serves_the_token_endpoint_under_a_tenant_id(sim):
    response = requests.post(f"{sim.base_url}/someone-else.onmicrosoft.com/oauth2/v2.0/token",
                             data={"grant_type": "refresh_token"}, timeout=5)
    _refused(response, "invalid_request", 90002)


def test_it_can_revoke_access_tokens_too(sim):
    graph = Graph(sim, connect(sim)["access_token"])
    assert graph.get("/me").status_code == 200
    control(sim, "POST", "/revoke", {"access_tokens": True})
    assert graph.get("/me").status_code == 401


def test_it_signs_an_id_token_when_openid_is_asked(sim):
    verifier = secrets.token_urlsafe(64)
    code = redirect_params(authorize(sim, verifier=verifier, nonce="n-1",
                                     scope="openid profile email offline_access User.Read"))
    answer = _redeem(sim, code["code"], verifier).json()
    keys = requests.get(f"{sim.base_url}/common/discovery/v2.0/keys", timeout=5).json()["keys"]
    kid = jwt.get_unverified_header(answer["id_token"])["kid"]
    key = jwt.PyJWK(keys[0]).key
    assert keys[0]["kid"] == kid
    claims = jwt.decode(answer["id_token"], key, algorithms=["RS256"],
                        audience="simulator-microsoft-client")
    assert claims["iss"] == f"https://login.microsoftonline.com/{sim.mailbox.tenant_id}/v2.0"
    assert claims["oid"] == sim.mailbox.user_id
    assert claims["email"] == claims["preferred_username"] == sim.mailbox.mail
    assert claims["nonce"] == "n-1" and claims["ver"] == "2.0"


def test_it_gives_no_id_token_without_openid(sim):
    assert "id_token" not in connect(sim)
