"""The platform client waits for the shared limiter, and gives up without
calling the platform when the wait would be too long."""

from __future__ import annotations

import pytest
import responses

from apps.core.audit import LogContext
from apps.core.http import Platform, PlatformClient, TransientError
from apps.core.models import SyncLog
from apps.core.ratelimit import RateLimit

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"


@responses.activate
def test_it_does_not_call_the_platform_over_its_quota():
    platform = Platform(name="acme", base_url=BASE, rate_limits=(RateLimit(2, 60),),
                        max_rate_limit_wait=1.0)
    client = PlatformClient(platform, sleep=lambda seconds: None)
    responses.get(f"{BASE}/things", json={"ok": True})
    client.get("/things", log=LogContext(action="thing.list"))
    client.get("/things", log=LogContext(action="thing.list"))

    with pytest.raises(TransientError) as excinfo:
        client.get("/things", log=LogContext(action="thing.list"))

    assert len(responses.calls) == 2
    assert 55 < excinfo.value.retry_after <= 60
    skipped = SyncLog.objects.get(status=SyncLog.Status.SKIPPED)
    assert "rate limit" in skipped.error
