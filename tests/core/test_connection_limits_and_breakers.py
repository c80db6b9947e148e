"""Two connections of one platform have their own breaker and their own limits,
unless the platform counts a limit per application."""

from __future__ import annotations

import pytest
import responses

from apps.core.connections import client_for
from apps.core.http import TransientError
from apps.core.models import SyncLog
from apps.core.ratelimit import RateLimit
from tests.core.connection_platform import BASE, LOG, PLATFORM, acme_connection, platform

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]


@pytest.fixture
def two_accounts():
    return acme_connection("Restaurant A", "key-a"), acme_connection("Restaurant B", "key-b")


@responses.activate
def test_it_opens_the_breaker_of_the_failing_connection_only(two_accounts):
    a, b = two_accounts
    responses.get(f"{BASE}/things", status=500,
                  match=[responses.matchers.header_matcher({"X-Api-Key": "key-a"})])
    responses.get(f"{BASE}/things", json={"ok": True},
                  match=[responses.matchers.header_matcher({"X-Api-Key": "key-b"})])

    with pytest.raises(TransientError):
        client_for(a, platform=PLATFORM).get("/things", log=LOG)
    with pytest.raises(TransientError, match=r"circuit .* is open"):
        client_for(a, platform=PLATFORM).get("/things", log=LOG)

    assert client_for(b, platform=PLATFORM).get("/things", log=LOG).status_code == 200
    assert len(responses.calls) == 2  # the open circuit sent nothing
    assert SyncLog.objects.filter(connection=a, status=SyncLog.Status.SKIPPED).count() == 1


@responses.activate
def test_each_connection_has_its_own_quota(two_accounts):
    a, b = two_accounts
    responses.get(f"{BASE}/things", json={"ok": True})
    per_account = platform(RateLimit(limit=1, seconds=60))

    client_for(a, platform=per_account).get("/things", log=LOG)
    with pytest.raises(TransientError, match="rate limit"):
        client_for(a, platform=per_account).get("/things", log=LOG)

    assert client_for(b, platform=per_account).get("/things", log=LOG).status_code == 200


@responses.activate
def test_a_per_application_limit_is_shared_by_all_connections(two_accounts):
    a, b = two_accounts
    responses.get(f"{BASE}/things", json={"ok": True})
    shared = platform(RateLimit(limit=1, seconds=60, per_application=True))

    client_for(a, platform=shared).get("/things", log=LOG)

    with pytest.raises(TransientError, match="rate limit"):
        client_for(b, platform=shared).get("/things", log=LOG)
    assert len(responses.calls) == 1


@responses.activate
def test_per_connection_and_per_application_limits_apply_together(two_accounts):
    a, b = two_accounts
    responses.get(f"{BASE}/things", json={"ok": True})
    both = platform(RateLimit(limit=1, seconds=60), RateLimit(limit=3, seconds=60,
                                                               per_application=True))

    client_for(a, platform=both).get("/things", log=LOG)
    client_for(b, platform=both).get("/things", log=LOG)
    with pytest.raises(TransientError):
        client_for(a, platform=both).get("/things", log=LOG)  # a's own quota
    third = acme_connection("Restaurant C", "key-c")
    client_for(third, platform=both).get("/things", log=LOG)
    fourth = acme_connection("Restaurant D", "key-d")
    with pytest.raises(TransientError):
        client_for(fourth, platform=both).get("/things", log=LOG)  # the application's
    assert len(responses.calls) == 3
