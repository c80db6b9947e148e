"""The Google simulator's quotas and injected failures, in Google's error shapes."""

from __future__ import annotations

import pytest

from tests.integrations.conftest import GoogleApi

MESSAGES = {"rateLimitExceeded": "Rate Limit Exceeded",
            "userRateLimitExceeded": "User Rate Limit Exceeded",
            "quotaExceeded": "Calendar usage limits exceeded."}


@pytest.mark.parametrize("reason", sorted(MESSAGES))
def test_a_usage_limit_on_demand_is_403_with_its_reason(google_api, reason):
    google_api.control("POST", "/quota", json={"fail_next": 1, "reason": reason})

    refused = google_api.call("GET", "/calendars/primary/events")
    after = google_api.call("GET", "/calendars/primary/events")

    assert refused.status_code == 403
    assert refused.json() == {"error": {
        "errors": [{"domain": "usageLimits", "reason": reason, "message": MESSAGES[reason]}],
        "code": 403, "message": MESSAGES[reason]}}
    assert after.status_code == 200


def test_a_429_on_demand_is_rate_limit_exceeded(google_api):
    google_api.control("POST", "/quota", json={"fail_next": 1, "fail_status": 429})

    refused = google_api.call("GET", "/calendars/primary/events")

    assert refused.status_code == 429
    assert refused.json()["error"]["errors"][0] == {
        "domain": "usageLimits", "reason": "rateLimitExceeded",
        "message": "Rate Limit Exceeded"}


def test_past_the_per_minute_quota_requests_are_refused_until_the_minute_has_passed(
        google_simulator):
    api = GoogleApi(google_simulator(per_user_per_minute=3)).connect()

    answers = [api.call("GET", "/calendars/primary").status_code for _ in range(4)]
    refused = api.call("GET", "/calendars/primary")
    api.control("POST", "/advance", json={"seconds": 60})
    later = api.call("GET", "/calendars/primary")

    assert answers == [200, 200, 200, 403]
    assert refused.json()["error"]["errors"][0]["reason"] == "userRateLimitExceeded"
    assert later.status_code == 200
    assert api.control("GET", "/state").json()["quota"]["refused"] == 2


def test_the_quota_can_answer_429_instead(google_simulator):
    api = GoogleApi(google_simulator(per_user_per_minute=1, quota_status=429)).connect()

    api.call("GET", "/calendars/primary")
    refused = api.call("GET", "/calendars/primary")

    assert refused.status_code == 429
    assert refused.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert "Retry-After" not in refused.headers


def test_the_frameworks_faults_answer_in_googles_shapes(google_api):
    google_api.control("POST", "/faults", json={"rate_limit_every": 1})
    limited = google_api.call("GET", "/calendars/primary")
    google_api.control("POST", "/faults", json={"rate_limit_every": 0, "error_rate": 1})
    failed = google_api.call("GET", "/calendars/primary")

    assert limited.status_code == 429
    assert limited.json()["error"]["errors"][0]["domain"] == "usageLimits"
    assert failed.status_code == 503
    assert failed.json()["error"]["errors"][0]["reason"] == "backendError"


def test_the_state_shows_calendars_tokens_channels_and_notifications(google_api):
    google_api.call("POST", "/calendars/primary/events", json={
        "summary": "x", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}})

    state = google_api.control("GET", "/state").json()

    assert state["calendars"] == {"sim.user@example.com": {"events": 1, "cancelled": 0}}
    assert state["oauth"]["tokens_issued"] == 1
    assert state["oauth"]["grants"][0]["has_refresh_token"] is True
    assert state["channels"] == []
    assert state["notifications"] == {"pending": 0, "delivered": 0, "failed": 0, "attempts": 0}
    assert state["requests_by_endpoint"]["POST /calendars/{calendarId}/events"] == 1


def test_reset_forgets_everything(google_api):
    google_api.call("POST", "/calendars/primary/events", json={
        "summary": "x", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}})

    google_api.control("POST", "/reset")

    assert google_api.call("GET", "/calendars/primary").status_code == 401
    assert google_api.control("GET", "/state").json()["calendars"] == {
        "sim.user@example.com": {"events": 0, "cancelled": 0}}
