"""The audit row of an exchange is written before the request is sent, and
completed with the outcome; an exchange cut off stays on record as "started"."""

from __future__ import annotations

import json

import pytest
import responses

from apps.core.audit import LogContext
from apps.core.breaker import BreakerPolicy
from apps.core.http import Platform, PlatformClient, RetryPolicy
from apps.core.models import SyncLog

pytestmark = pytest.mark.django_db

BASE = "https://acme.test/api"
PLATFORM = Platform(name="acme", base_url=BASE, retry=RetryPolicy(max_attempts=2),
                    breaker=BreakerPolicy(failure_threshold=1000))
LOG = LogContext(action="thing.create", entity_type="thing", entity_id="7")


class WorkerKilled(BaseException):
    """Stands for the end of the process in the middle of a call."""


def _client() -> PlatformClient:
    return PlatformClient(PLATFORM, sleep=lambda seconds: None)


def _rows() -> list[tuple]:
    return list(SyncLog.objects.order_by("pk").values_list("action", "status", "http_status"))


@responses.activate
def test_it_records_the_exchange_before_sending_it_then_completes_that_row():
    seen_by_platform: list[list[tuple]] = []

    def endpoint(request):
        seen_by_platform.append(_rows())
        return 201, {"X-Request-ID": "remote-1"}, json.dumps({"id": 7})

    responses.add_callback(responses.POST, f"{BASE}/things", callback=endpoint)

    _client().post("/things", json={"name": "x"}, idempotent=False, log=LOG)

    assert seen_by_platform == [[("thing.create", SyncLog.Status.STARTED, None)]]
    row = SyncLog.objects.get()
    assert (row.status, row.http_status) == (SyncLog.Status.SUCCESS, 201)
    assert row.response_body == '{"id": 7}'
    assert row.request_body == '{"name": "x"}'
    assert row.remote_request_id == "remote-1"
    assert row.duration_ms is not None


@responses.activate
def test_it_leaves_the_row_started_when_the_exchange_is_cut_off():
    def endpoint(request):
        raise WorkerKilled

    responses.add_callback(responses.POST, f"{BASE}/things", callback=endpoint)

    with pytest.raises(WorkerKilled):
        _client().post("/things", json={"name": "x"}, idempotent=False, log=LOG)

    row = SyncLog.objects.get()
    assert row.status == SyncLog.Status.STARTED
    assert (row.action, row.entity_id, row.http_method) == ("thing.create", "7", "POST")
    assert row.request_body == '{"name": "x"}'
    assert row.http_status is None
    assert row.duration_ms is None


@responses.activate
def test_it_writes_each_attempt_before_sending_it():
    seen_by_platform: list[list[tuple]] = []

    def endpoint(request):
        seen_by_platform.append(_rows())
        return (503, {}, "") if len(seen_by_platform) == 1 else (200, {}, "{}")

    responses.add_callback(responses.GET, f"{BASE}/things", callback=endpoint)

    _client().get("/things", log=LogContext(action="thing.list"))

    assert seen_by_platform == [
        [("thing.list", SyncLog.Status.STARTED, None)],
        [("thing.list", SyncLog.Status.RETRY, 503), ("thing.list", SyncLog.Status.STARTED, None)],
    ]
    assert _rows() == [("thing.list", SyncLog.Status.RETRY, 503),
                       ("thing.list", SyncLog.Status.SUCCESS, 200)]
