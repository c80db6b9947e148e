"""A cached token is reused until `refresh_margin` before it expires, then renewed."""

from __future__ import annotations

import pytest
import responses

from apps.core.auth import ClientCredentialsAuth, TokenError
from apps.core.store import LocalStore

TOKEN_URL = "https://acme.test/oauth/token"


@pytest.fixture
def store(clock) -> LocalStore:
    return LocalStore(clock=clock)


@pytest.fixture
def provider(store) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(client_id="hub", client_secret="s3cret-client-secret",
                                 cache_key="acme", token_url=TOKEN_URL, store=store,
                                 refresh_margin=60)


@pytest.fixture
def token_endpoint():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for n in (1, 2, 3):
            mock.post(TOKEN_URL, json={"access_token": f"token-{n}", "expires_in": 600})
        yield mock


def test_it_reuses_the_token_until_the_refresh_margin(provider, clock, token_endpoint):
    assert provider.token().access_token == "token-1"
    clock.advance(539)

    assert provider.token().access_token == "token-1"
    assert len(token_endpoint.calls) == 1


def test_it_refreshes_the_token_within_the_refresh_margin(provider, clock, token_endpoint):
    provider.token()
    clock.advance(540)

    assert provider.token().access_token == "token-2"
    assert len(token_endpoint.calls) == 2


def test_it_shares_the_cached_token_between_providers(provider, store, token_endpoint):
    other = ClientCredentialsAuth(client_id="hub", client_secret="s3cret-client-secret",
                                  cache_key="acme", token_url=TOKEN_URL, store=store)
    provider.token()

    assert other.token().access_token == "token-1"
    assert len(token_endpoint.calls) == 1


def test_it_sends_the_client_credentials_form(provider, token_endpoint):
    provider.token()

    request = token_endpoint.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == ("grant_type=client_credentials&client_id=hub"
                            "&client_secret=s3cret-client-secret")


def test_it_keeps_the_cached_token_encrypted(provider, store, token_endpoint):
    provider.token()

    raw = store.get(provider.cache_key)
    assert raw
    assert "token-1" not in raw


def test_it_requests_a_new_token_after_invalidation(provider, token_endpoint):
    provider.token()
    provider.invalidate()

    assert provider.token().access_token == "token-2"


def test_it_explains_a_refused_token_request(store):
    provider = ClientCredentialsAuth(client_id="hub", client_secret="wrong", cache_key="acme",
                                     token_url=TOKEN_URL, store=store)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=401,
                  json={"error": "invalid_client", "error_description": "Bad secret"})
        with pytest.raises(TokenError, match="invalid_client: Bad secret") as excinfo:
            provider.token()

    assert excinfo.value.status_code == 401
    assert not excinfo.value.transient


def test_it_caches_a_token_shorter_lived_than_the_margin_for_half_its_life(store, clock):
    provider = ClientCredentialsAuth(client_id="hub", client_secret="s3cret", cache_key="short",
                                     token_url=TOKEN_URL, store=store, refresh_margin=60)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json={"access_token": "short-1", "expires_in": 40})
        mock.post(TOKEN_URL, json={"access_token": "short-2", "expires_in": 40})

        first = provider.token().access_token
        clock.advance(19)
        still = provider.token().access_token
        clock.advance(1)
        renewed = provider.token().access_token
        calls = len(mock.calls)

    assert (first, still, renewed) == ("short-1", "short-1", "short-2")
    assert calls == 2
