"""Slack notifications end to end: the outbox posts to the Slack simulator over
real HTTP (a reminder with its mention, a channel the app is not in, then
invited; one message a second per channel)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from apps.core.connections import connection_create
from apps.core.models import AttentionItem, Connection, Credentials, OutboundOperation
from apps.core.operations import operation_retry_now, operation_run
from apps.integrations.models import ORGANIZATION_TENANT, Integration, Organization
from apps.integrations.notify_operations import NOT_IN_CHANNEL
from apps.integrations.providers import client_credentials
from apps.integrations.slack_notify import SYSTEM_NOTIFICATION, reminders_due, slack_notify_enqueue
from tests.integrations import slack_fixtures
from tests.integrations.factories import EventFactory, OrganizationFactory, member

slack_simulator = slack_fixtures.slack_simulator
pytestmark = pytest.mark.django_db
State = OutboundOperation.State


def installed(sim, organization: Organization, settings: dict) -> Integration:
    """The organisation's Slack integration on a token the simulator issued."""
    answer = slack_fixtures.slack_install(sim, scopes="chat:write,channels:read,users:read.email")
    client_id, client_secret = client_credentials("slack")
    connection = connection_create(
        platform="slack", name="Slack", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=client_id, client_secret=client_secret,
                                access_token=answer["access_token"],
                                refresh_token=answer.get("refresh_token", "")))
    connection.status = Connection.Status.CONNECTED
    connection.token_expires_at = timezone.now() + timedelta(seconds=answer["expires_in"])
    connection.save(update_fields=["status", "token_expires_at"])
    return Integration.objects.create(organization=organization, connection=connection,
                                      provider="slack", type="communication", name="Slack",
                                      settings=settings)


def messages(sim, channel: str = "") -> list[dict]:
    params = {"channel": channel} if channel else {}
    return requests.get(f"{sim.base_url}/_sim/messages", params=params, timeout=5).json()[
        "messages"]


def test_a_reminder_reaches_the_channel_with_the_organiser_mentioned(slack_simulator):
    sim = slack_simulator()
    organization = OrganizationFactory()
    organizer = member(organization=organization, email="organiser@example.com")
    installed(sim, organization, {
        "channels": {"default": "#general"},
        "messageTemplates": {"eventReminder": "📅 Rappel: {eventName} commence dans "
                                              "{timeUntil} {salle}"},
        "userMentions": {"enabled": True, "mentionOrganizers": True},
        "notifications": {"reminderMinutes": [15]}})
    now = timezone.now()
    event = EventFactory(organization=organization, organizer=organizer,
                         title="Safety <training>", start=now + timedelta(minutes=15))

    [operation] = reminders_due(now=now)
    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED, operation.last_error
    [message] = messages(sim, "general")
    # The organiser as Slack knows them (users.lookupByEmail), the title
    # escaped, the unknown placeholder left as written.
    assert message["text"] == ("<@U0SIMORG01> 📅 Rappel: Safety &lt;training&gt; commence "
                               "dans 15\xa0minutes {salle}")
    assert operation.result["ts"] == message["ts"]
    # The next beat finds the same reminder already sent.
    again = reminders_due(now=now + timedelta(minutes=1))
    assert [op.pk for op in again] == [operation.pk]
    assert operation.payload["event_id"] == event.pk


def test_a_channel_the_app_is_not_in_raises_an_item_until_it_is_invited(slack_simulator):
    sim = slack_simulator()
    organization = OrganizationFactory()
    installed(sim, organization, {"channels": {"default": "#random", "alerts": "#random"}})
    [first] = slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                   values={"text": "first"})
    [second] = slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                    values={"text": "second"})

    first = operation_run(first.pk)

    assert first.state == State.DEAD
    assert "not_in_channel" in first.last_error
    assert AttentionItem.objects.open().filter(kind=NOT_IN_CHANNEL).count() == 1
    # The channel's next message waits behind the dead one, in order.
    assert operation_run(second.pk) is None

    requests.post(f"{sim.base_url}/_sim/channels", json={"name": "random", "is_member": True},
                  timeout=5).raise_for_status()
    operation_retry_now(operation=first)
    assert operation_run(first.pk).state == State.SUCCEEDED
    assert operation_run(second.pk).state == State.SUCCEEDED

    assert [m["text"] for m in messages(sim, "random")] == ["first", "second"]
    assert not AttentionItem.objects.open().filter(kind=NOT_IN_CHANNEL).exists()


def test_messages_of_one_channel_are_paced_at_one_a_second(slack_simulator):
    # A workspace that tolerates no burst: a second message within the second
    # would be refused with 429.
    sim = slack_simulator(post_message_burst=1)
    organization = OrganizationFactory()
    installed(sim, organization, {})
    operations = [slack_notify_enqueue(organization=organization, kind=SYSTEM_NOTIFICATION,
                                       values={"text": f"notice {n}"})[0] for n in range(2)]

    done = [operation_run(operation.pk) for operation in operations]

    assert [operation.state for operation in done] == [State.SUCCEEDED, State.SUCCEEDED]
    posted = messages(sim, "general")
    assert [m["text"] for m in posted] == ["notice 0", "notice 1"]
    assert posted[1]["posted_at"] - posted[0]["posted_at"] >= 1.0
