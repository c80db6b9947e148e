"""The Slack simulator's incoming webhook (the seed's `webhookUrl`): given by
an installation with the incoming-webhook scope, posting to the channel the
installer picked, over real HTTP."""

from __future__ import annotations

import requests

from apps.core.simulator_kit.clock import SimClock
from tests.integrations import slack_fixtures
from tests.integrations.slack_fixtures import slack_install

# The fixture, where pytest finds it (an import would be an unused name for ruff).
slack_simulator = slack_fixtures.slack_simulator


def _install(sim) -> dict:
    return slack_install(sim, scopes="chat:write,incoming-webhook")


def _messages(sim) -> list[dict]:
    return requests.get(f"{sim.base_url}/_sim/messages", timeout=5).json()["messages"]


def test_it_gives_the_webhook_of_the_channel_the_installer_picked(slack_simulator):
    sim = slack_simulator()
    requests.post(f"{sim.base_url}/_sim/consent", json={"webhook_channel": "#reports"},
                  timeout=5)
    hook = _install(sim)["incoming_webhook"]
    reports = next(c for c in sim.channels.values() if c.name == "reports")
    assert (hook["channel"], hook["channel_id"]) == ("#reports", reports.id)
    assert hook["url"].startswith(f"{sim.base_url}/services/{sim.team['id']}/")
    posted = requests.post(hook["url"], json={"text": "📊 Rapport hebdomadaire"}, timeout=5)
    assert (posted.status_code, posted.text) == (200, "ok")
    [message] = _messages(sim)
    assert (message["channel_name"], message["text"], message["via"]) == (
        "reports", "📊 Rapport hebdomadaire", "incoming_webhook")


def test_it_gives_no_webhook_without_the_scope(slack_simulator):
    sim = slack_simulator()
    assert "incoming_webhook" not in slack_install(sim)


def test_it_refuses_bad_payloads_and_unknown_hooks(slack_simulator):
    sim = slack_simulator()
    url = _install(sim)["incoming_webhook"]["url"]
    empty = requests.post(url, json={}, timeout=5)
    assert (empty.status_code, empty.text) == (400, "no_text")
    garbage = requests.post(url, data="not json", timeout=5)
    assert (garbage.status_code, garbage.text) == (400, "invalid_payload")
    forged = requests.post(url.rsplit("/", 1)[0] + "/forged", json={"text": "x"}, timeout=5)
    assert (forged.status_code, forged.text) == (403, "invalid_token")
    assert _messages(sim) == []


def test_it_stops_serving_once_the_app_is_uninstalled(slack_simulator):
    sim = slack_simulator()
    answer = _install(sim)
    requests.post(f"{sim.base_url}/api/auth.revoke",
                  headers={"Authorization": f"Bearer {answer['access_token']}"}, timeout=5)
    gone = requests.post(answer["incoming_webhook"]["url"], json={"text": "x"}, timeout=5)
    assert (gone.status_code, gone.text) == (404, "no_service")


def test_it_rate_limits_the_webhook_with_its_channel(slack_simulator):
    sim = slack_simulator(clock=SimClock(lambda: 1_767_000_000.0))
    url = _install(sim)["incoming_webhook"]["url"]
    for index in range(3):
        assert requests.post(url, json={"text": f"m{index}"}, timeout=5).status_code == 200
    limited = requests.post(url, json={"text": "too many"}, timeout=5)
    assert (limited.status_code, limited.text) == (429, "rate_limited")
    assert limited.headers["Retry-After"] == "3"
