"""A platform answering 3xx gets a permanent error: the redirect is never followed."""

from __future__ import annotations

import random

import pytest
import responses

from apps.core.audit import LogContext
from apps.core.breaker import BreakerPolicy
from apps.core.http import PermanentError, Platform, PlatformClient, RetryPolicy
from apps.core.models import SyncLog

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
ELSEWHERE = "https://elsewhere.test/collect"
LOG = LogContext(action="thing.create")
PLATFORM = Platform(name="acme", base_url=BASE, retry=RetryPolicy(max_attempts=3),
                    breaker=BreakerPolicy(failure_threshold=1))


@pytest.fixture
def client() -> PlatformClient:
    return PlatformClient(PLATFORM, sleep=lambda seconds: None, rng=random.Random(7))


@responses.activate
def test_it_never_follows_a_post_answered_302_to_another_host(client):
    responses.post(f"{BASE}/things", status=302,
                   headers={"Location": f"{ELSEWHERE}?access_token=leaked-abc123&page=2"})
    elsewhere = responses.get(ELSEWHERE, json={"ok": True})

    with pytest.raises(PermanentError) as raised:
        client.post("/things", json={"name": "x"}, log=LOG, idempotent=False)

    assert elsewhere.call_count == 0
    assert len(responses.calls) == 1  # not retried either
    assert raised.value.status_code == 302
    assert "never followed" in str(raised.value)
    assert "leaked-abc123" not in str(raised.value)
    row = SyncLog.objects.get()
    assert (row.status, row.http_status, row.http_method) == (SyncLog.Status.FAILED, 302, "POST")
    assert "elsewhere.test" in row.error and "never followed" in row.error
    assert "leaked-abc123" not in row.error
    assert "leaked-abc123" not in str(row.response_headers)


@responses.activate
@pytest.mark.parametrize("status", [301, 303, 307, 308])
def test_it_refuses_every_redirect_status_on_a_read_too(client, status):
    responses.get(f"{BASE}/things/1", status=status, headers={"Location": ELSEWHERE})
    elsewhere = responses.get(ELSEWHERE, json={"ok": True})

    with pytest.raises(PermanentError):
        client.get("/things/1", log=LOG)

    assert elsewhere.call_count == 0
    assert SyncLog.objects.get().status == SyncLog.Status.FAILED


@responses.activate
def test_a_redirect_is_not_a_breaker_failure(client):
    """A platform that answers is up; the threshold of one would open the circuit."""
    responses.get(f"{BASE}/things", status=302, headers={"Location": ELSEWHERE})

    with pytest.raises(PermanentError):
        client.get("/things", log=LOG)

    assert client.breaker.snapshot()["state"] == "closed"


@responses.activate
def test_a_status_the_caller_accepts_is_returned(client):
    responses.get(f"{BASE}/things", status=304)

    assert client.get("/things", log=LOG, accept=(304,)).status_code == 304
