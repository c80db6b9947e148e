"""The Slack simulator's Web API (auth.test, conversations.list,
chat.postMessage) and its per-channel rate limit, driven over real HTTP."""

from __future__ import annotations

import requests

from apps.core.simulator_kit.clock import SimClock
from tests.integrations import slack_fixtures
from tests.integrations.slack_fixtures import slack_install

# The fixture, where pytest finds it (an import would be an unused name for ruff).
slack_simulator = slack_fixtures.slack_simulator

NOW = 1_767_000_000.0


def _call(sim, name: str, token: str, **form) -> requests.Response:
    return requests.post(f"{sim.base_url}/api/{name}", data=form,
                         headers={"Authorization": f"Bearer {token}"}, timeout=5)


def _post(sim, token: str, channel: str, text: str = "Reminder") -> requests.Response:
    return _call(sim, "chat.postMessage", token, channel=channel, text=text)


def _frozen(slack_simulator):
    """A simulator whose clock only moves with /_sim/advance, and its bot token."""
    sim = slack_simulator(clock=SimClock(lambda: NOW))
    return sim, slack_install(sim)["access_token"]


def test_it_answers_auth_test_with_the_workspace_and_the_bot(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    answer = _call(sim, "auth.test", token).json()
    assert answer == {"ok": True, "url": "https://simulated-workspace.slack.com/",
                      "team": sim.team["name"], "user": "hub-bot",
                      "team_id": sim.team["id"], "user_id": sim.bot_user_id,
                      "bot_id": sim.bot_id, "is_enterprise_install": False}


def test_it_lists_public_channels_with_membership_page_by_page(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    first = _call(sim, "conversations.list", token, limit="2").json()
    assert first["ok"] is True
    assert [c["name"] for c in first["channels"]] == ["general", "random"]
    assert {key: first["channels"][0][key] for key in ("is_member", "is_private",
                                                        "is_archived", "is_channel")} == {
        "is_member": True, "is_private": False, "is_archived": False, "is_channel": True}
    assert first["channels"][1]["is_member"] is False
    cursor = first["response_metadata"]["next_cursor"]
    assert cursor
    rest = _call(sim, "conversations.list", token, limit="2", cursor=cursor).json()
    assert [c["name"] for c in rest["channels"]] == ["attendance-alerts", "reports"]
    assert rest["response_metadata"]["next_cursor"] == ""


def test_it_lists_private_channels_only_with_groups_read(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    refused = _call(sim, "conversations.list", token, types="private_channel").json()
    assert refused == {"ok": False, "error": "missing_scope", "needed": "groups:read",
                       "provided": "chat:write,channels:read"}
    token = slack_install(sim, scopes="channels:read,groups:read")["access_token"]
    listed = _call(sim, "conversations.list", token,
                   types="public_channel,private_channel").json()
    assert "managers" in [c["name"] for c in listed["channels"]]


def test_it_posts_by_channel_id_or_name_and_records_the_message(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    general = next(c for c in sim.channels.values() if c.name == "general")
    by_name = _post(sim, token, "#general", "📅 Rappel: Onboarding commence dans 1h").json()
    assert by_name["ok"] is True
    assert by_name["channel"] == general.id
    assert by_name["message"]["text"] == "📅 Rappel: Onboarding commence dans 1h"
    assert by_name["message"]["bot_id"] == sim.bot_id
    by_id = requests.post(f"{sim.base_url}/api/chat.postMessage", json={
        "channel": general.id, "blocks": [{"type": "section", "text": {
            "type": "mrkdwn", "text": "*Low attendance*"}}]},
        headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    assert by_id["ok"] is True
    assert float(by_id["ts"]) >= float(by_name["ts"])
    assert by_id["ts"] != by_name["ts"]
    recorded = requests.get(f"{sim.base_url}/_sim/messages", params={"channel": "general"},
                            timeout=5).json()["messages"]
    assert [(m["ts"], m["channel_name"]) for m in recorded] == [
        (by_name["ts"], "general"), (by_id["ts"], "general")]
    assert recorded[1]["blocks"][0]["type"] == "section"


def test_it_refuses_a_channel_the_bot_is_not_in(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    assert _post(sim, token, "#random").json() == {"ok": False, "error": "not_in_channel"}
    requests.post(f"{sim.base_url}/_sim/channels", json={"name": "random", "is_member": True},
                  timeout=5)
    assert _post(sim, token, "#random").json()["ok"] is True
    assert len(requests.get(f"{sim.base_url}/_sim/messages", timeout=5).json()["messages"]) == 1


def test_it_lets_chat_write_public_post_in_any_public_channel(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim, scopes="chat:write,chat:write.public")["access_token"]
    assert _post(sim, token, "#reports").json()["ok"] is True


def test_it_refuses_unknown_private_archived_and_empty_posts(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    requests.post(f"{sim.base_url}/_sim/channels",
                  json={"name": "secret", "is_private": True}, timeout=5)
    requests.post(f"{sim.base_url}/_sim/channels",
                  json={"name": "old", "is_member": True, "is_archived": True}, timeout=5)
    assert _post(sim, token, "#nowhere").json()["error"] == "channel_not_found"
    assert _post(sim, token, "#secret").json()["error"] == "channel_not_found"
    assert _post(sim, token, "#old").json()["error"] == "is_archived"
    assert _post(sim, token, "#general", "").json()["error"] == "no_text"
    assert _call(sim, "chat.postMessage", token, channel="#general",
                 blocks="not json").json()["error"] == "invalid_blocks"
    assert _post(sim, token, "#general", "x" * 40_001).json()["error"] == "msg_too_long"


def test_it_refuses_a_post_without_chat_write(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim, scopes="channels:read")["access_token"]
    assert _post(sim, token, "#general").json() == {
        "ok": False, "error": "missing_scope", "needed": "chat:write",
        "provided": "channels:read"}


def test_it_rate_limits_each_channel_past_its_burst(slack_simulator):
    sim, token = _frozen(slack_simulator)
    for index in range(3):
        assert _post(sim, token, "#general", f"burst {index}").json()["ok"] is True
    refused = _post(sim, token, "#general", "one too many")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert refused.json() == {"ok": False, "error": "ratelimited"}
    # Another channel has its own window.
    assert _post(sim, token, "#attendance-alerts").json()["ok"] is True
    requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 3}, timeout=5)
    assert _post(sim, token, "#general", "after the wait").json()["ok"] is True
    texts = [m["text"] for m in requests.get(f"{sim.base_url}/_sim/messages",
                                             params={"channel": "general"},
                                             timeout=5).json()["messages"]]
    assert texts == ["burst 0", "burst 1", "burst 2", "after the wait"]


def test_it_lets_one_message_a_second_through_for_ever(slack_simulator):
    sim, token = _frozen(slack_simulator)
    for index in range(10):
        assert _post(sim, token, "#general", f"tick {index}").json()["ok"] is True
        requests.post(f"{sim.base_url}/_sim/advance", json={"seconds": 1}, timeout=5)
    assert requests.get(f"{sim.base_url}/_sim/state", timeout=5).json()["rate_limited"] == 0


def test_it_answers_an_injected_429_the_slack_way(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    requests.post(f"{sim.base_url}/_sim/faults",
                  json={"rate_limit_every": 1, "retry_after_seconds": 7}, timeout=5)
    refused = _call(sim, "auth.test", token)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"
    assert refused.json() == {"ok": False, "error": "ratelimited"}


def test_it_forgets_everything_on_reset(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    _post(sim, token, "#general")
    requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
    state = requests.get(f"{sim.base_url}/_sim/state", timeout=5).json()
    assert state["messages"] == 0
    assert state["installations"] == []
    assert _call(sim, "auth.test", token).json()["error"] == "invalid_auth"


def test_it_looks_a_member_up_by_e_mail_for_mentions(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim, scopes="chat:write,users:read,users:read.email")["access_token"]
    found = _call(sim, "users.lookupByEmail", token, email="Manager@Example.com").json()
    assert found["ok"] is True
    assert (found["user"]["id"], found["user"]["profile"]["email"]) == (
        "U0SIMMGR01", "manager@example.com")
    assert _call(sim, "users.lookupByEmail", token,
                 email="stranger@example.com").json() == {"ok": False,
                                                          "error": "users_not_found"}
    requests.post(f"{sim.base_url}/_sim/users",
                  json={"email": "stranger@example.com", "real_name": "New Hire"}, timeout=5)
    added = _call(sim, "users.lookupByEmail", token, email="stranger@example.com").json()
    assert added["user"]["real_name"] == "New Hire"


def test_it_needs_users_read_email_to_look_members_up(slack_simulator):
    sim = slack_simulator()
    token = slack_install(sim)["access_token"]
    refused = _call(sim, "users.lookupByEmail", token, email="manager@example.com").json()
    assert (refused["error"], refused["needed"]) == ("missing_scope", "users:read.email")
