"""GET /api/integrations/analytics/metrics: Admin only, and every figure equal to what
the runs and exchanges the test created give when counted by hand."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.core.models import Connection, SyncRun
from tests.integrations.factories import (
    OrganizationFactory,
    make_exchange,
    make_integration,
    make_run,
    member,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
CODES = ["RATE_LIMIT_EXCEEDED", "PERMISSION_DENIED", None]


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme", time_zone="Europe/Brussels")


@pytest.fixture
def admin_api(acme) -> APIClient:
    client = APIClient()
    client.force_authenticate(member(organization=acme, group="Admin", username="boss"))
    return client


def _seeded_history(acme):
    """Runs and exchanges of three providers over 40 days, drawn at random but
    reproducibly; returns them so the test can count by hand."""
    rng = random.Random(13)
    integrations = {
        "google": make_integration(organization=acme, provider="google"),
        "slack": make_integration(organization=acme, provider="slack"),
        "zoom": make_integration(organization=acme, provider="zoom",
                                 status=Connection.Status.ERROR),
    }
    runs, exchanges = [], []
    for provider, integration in integrations.items():
        for _ in range(30):
            started = NOW - timedelta(hours=rng.randint(1, 40 * 24))
            status = rng.choice([SyncRun.Status.SUCCESS] * 3 + [SyncRun.Status.PARTIAL,
                                                                  SyncRun.Status.ERROR])
            code = rng.choice(CODES)
            samples = [{"record": "1", "message": "x", "code": code}] if code else []
            runs.append((provider, make_run(integration, status=status, started_at=started,
                                            error_samples=samples)))
        for _ in range(20):
            at = NOW - timedelta(hours=rng.randint(1, 40 * 24))
            exchanges.append((provider, make_exchange(
                integration, duration_ms=rng.randint(50, 3000), created_at=at,
                action="slack.chat.postMessage" if provider == "slack" else "events.list")))
    # A run still going has no outcome: never counted.
    make_run(integrations["google"], status=SyncRun.Status.RUNNING,
             started_at=NOW - timedelta(minutes=5))
    # Another organisation's activity is never counted either.
    other = make_integration(organization=OrganizationFactory(), provider="google")
    make_run(other, started_at=NOW - timedelta(hours=1))
    make_exchange(other, duration_ms=99_999, created_at=NOW - timedelta(hours=1))
    return integrations, runs, exchanges


@pytest.mark.parametrize("period, days", [("week", 7), ("month", 30)])
def test_it_computes_every_figure_from_the_runs_and_exchanges(admin_api, acme, period, days):
    _, runs, exchanges = _seeded_history(acme)
    since = NOW - timedelta(days=days)
    in_period = [(p, run) for p, run in runs if run.started_at >= since]
    failed = [run for _, run in in_period if run.status != SyncRun.Status.SUCCESS]
    codes = Counter((run.error_samples[0]["code"] if run.error_samples else "SYNC_FAILED")
                    for run in failed)
    durations = [log.duration_ms for _, log in exchanges if log.created_at >= since]

    with time_machine.travel(NOW, tick=False):
        response = admin_api.get("/api/integrations/analytics/metrics", {"period": period})

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    succeeded = sum(run.status == SyncRun.Status.SUCCESS for _, run in in_period)
    assert data["overview"] == {
        "totalIntegrations": 3, "activeIntegrations": 2, "totalSyncs": len(in_period),
        "successRate": round(succeeded / len(in_period), 4),
        "averageResponseTime": f"{sum(durations) / len(durations) / 1000:.1f}s"}
    for provider in ("google", "slack", "zoom"):
        mine = [run for p, run in in_period if p == provider]
        ok = sum(run.status == SyncRun.Status.SUCCESS for run in mine)
        ms = [log.duration_ms for p, log in exchanges if p == provider and log.created_at >= since]
        expected = {"integrations": 1, "syncs": len(mine), "successRate": round(ok / len(mine), 4),
                    "averageResponseTime": f"{sum(ms) / len(ms) / 1000:.1f}s"}
        if provider == "slack":
            expected["messagesSent"] = len(ms)
        assert data["byProvider"][provider] == expected
    assert data["errors"]["totalErrors"] == len(failed)
    assert data["errors"]["errorRate"] == round(len(failed) / len(in_period), 4)
    assert {item["error"]: item["count"] for item in data["errors"]["commonErrors"]} == codes
    assert [item["count"] for item in data["errors"]["commonErrors"]] == sorted(
        codes.values(), reverse=True)
    volume = data["trends"]["syncVolume"]
    assert sum(day["syncs"] for day in volume) == len(in_period)
    assert sum(day["errors"] for day in volume) == len(failed)
    assert [day["date"] for day in volume] == sorted(day["date"] for day in volume)


def test_it_counts_only_the_providers_asked_for(admin_api, acme):
    _, runs, _ = _seeded_history(acme)
    since = NOW - timedelta(days=90)
    wanted = [run for p, run in runs if p in ("google", "zoom") and run.started_at >= since]

    with time_machine.travel(NOW, tick=False):
        data = admin_api.get("/api/integrations/analytics/metrics",
                             {"period": "quarter", "providers": "google,zoom"}).json()["data"]

    assert sorted(data["byProvider"]) == ["google", "zoom"]
    assert data["overview"]["totalIntegrations"] == 2
    assert data["overview"]["totalSyncs"] == len(wanted)


def test_it_answers_with_zeros_and_nulls_before_any_sync(admin_api):
    data = admin_api.get("/api/integrations/analytics/metrics").json()["data"]

    assert data["overview"] == {"totalIntegrations": 0, "activeIntegrations": 0,
                                "totalSyncs": 0, "successRate": None,
                                "averageResponseTime": None}
    assert data["errors"] == {"totalErrors": 0, "errorRate": None, "commonErrors": []}


def test_it_refuses_an_unknown_provider_or_period(admin_api):
    provider = admin_api.get("/api/integrations/analytics/metrics", {"providers": "google,fax"})
    period = admin_api.get("/api/integrations/analytics/metrics", {"period": "year"})

    assert provider.status_code == 400
    assert list(provider.json()["error"]["details"]) == ["providers"]
    assert period.status_code == 400
    assert list(period.json()["error"]["details"]) == ["period"]


def test_it_answers_permission_denied_to_a_manager(acme):
    client = APIClient()
    client.force_authenticate(member(organization=acme, group="Manager", username="mgr"))

    response = client.get("/api/integrations/analytics/metrics")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
