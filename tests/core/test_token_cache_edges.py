"""Token caching edge cases: a zero lifetime, a late invalidation.

The refresh lock's lifetime is tested against the real clients in
test_token_refresh_lock.py."""

from __future__ import annotations

import pytest

from apps.core.auth import ClientCredentialsAuth
from apps.core.store import LocalStore

TOKEN_URL = "https://acme.test/oauth/token"


class FakeResponse:
    def __init__(self, body: dict) -> None:
        self.status_code = 200
        self._body = body

    def json(self):
        return self._body


def _provider(store, post) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(client_id="hub", client_secret="s", cache_key="acme",
                                 token_url=TOKEN_URL, store=store, post=post)


@pytest.fixture
def store(clock) -> LocalStore:
    return LocalStore(clock=clock)


def test_a_token_issued_with_expires_in_zero_is_not_cached(store, clock):
    issued = []

    def post(url, **kwargs):
        issued.append(1)
        return FakeResponse({"access_token": f"t{len(issued)}", "expires_in": 0})

    provider = _provider(store, post)
    provider.token()
    clock.advance(300)
    # Once read as "absent" (600 s), so the dead token was served for 540 s.
    assert provider.token().access_token == "t2"


def test_a_late_invalidation_does_not_drop_a_fresh_token(store, clock):
    """Two workers got a 401 for the same revoked token; the first refreshed,
    the second's invalidation must not throw the fresh token away."""
    posts = []

    def post(url, **kwargs):
        posts.append(url)
        return FakeResponse({"access_token": f"t{len(posts)}", "expires_in": 600})

    a, b = _provider(store, post), _provider(store, post)
    refused = a.headers()  # t1, used by both workers, then revoked
    assert b.headers() == refused
    b.invalidate(refused=refused)
    assert b.token().access_token == "t2"
    a.invalidate(refused=refused)
    assert a.token().access_token == "t2"
    assert len(posts) == 2
