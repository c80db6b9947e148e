"""The Microsoft simulator's change-notification subscriptions over real HTTP:
the validation handshake, notifications, renewal, deletion and expiry."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.integrations import microsoft_fixtures
from tests.integrations.microsoft_fixtures import (
    control,
    event_body,
    graph_for,
)

# The fixtures, where pytest finds them (an import would be an unused name for ruff).
microsoft_simulator = microsoft_fixtures.microsoft_simulator
notification_endpoint = microsoft_fixtures.notification_endpoint


@pytest.fixture
def sim(microsoft_simulator):
    return microsoft_simulator(validation_timeout_seconds=1.0)


@pytest.fixture
def graph(sim):
    return graph_for(sim)


def _in(sim, minutes: float) -> str:
    return (sim.now() + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _subscribe(graph, sim, url: str, **extra):
    return graph.post("/subscriptions", {
        "changeType": "created,updated,deleted", "notificationUrl": url,
        "resource": "me/events", "expirationDateTime": _in(sim, 4000),
        "clientState": "secret-client-state", **extra})


def test_it_validates_the_endpoint_before_creating_the_subscription(graph, sim,
                                                                    notification_endpoint):
    endpoint = notification_endpoint()
    response = _subscribe(graph, sim, endpoint.url)
    assert response.status_code == 201, response.text
    subscription = response.json()
    assert len(endpoint.validations) == 1
    assert endpoint.validations[0].startswith("Validation: Testing client application")
    assert subscription["resource"] == "me/events"
    assert subscription["changeType"] == "created,updated,deleted"
    assert subscription["clientState"] == "secret-client-state"
    assert subscription["applicationId"] == "simulator-microsoft-client"
    assert subscription["expirationDateTime"].endswith("Z")


@pytest.mark.parametrize(("mode", "message"), [
    ("error", "Notification endpoint must respond with 200 OK to validation request."),
    ("wrong", "Response must exactly match validationToken query parameter."),
    ("json", "Response must exactly match validationToken query parameter."),
])
def test_it_refuses_a_subscription_whose_validation_fails(graph, sim, notification_endpoint,
                                                          mode, message):
    endpoint = notification_endpoint(mode=mode)
    response = _subscribe(graph, sim, endpoint.url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidRequest"
    assert error["message"] == f"Subscription validation request failed. {message}"
    assert sim.subscriptions.items == {}


def test_it_refuses_a_subscription_whose_validation_is_too_slow(graph, sim,
                                                                notification_endpoint):
    endpoint = notification_endpoint(mode="slow", slow_seconds=2.0)
    response = _subscribe(graph, sim, endpoint.url)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Subscription validation request timed out."


def test_it_refuses_an_expiration_beyond_the_maximum(graph, sim, notification_endpoint):
    endpoint = notification_endpoint()
    response = _subscribe(graph, sim, endpoint.url, expirationDateTime=_in(sim, 10_080))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ExtensionError"
    assert error["message"] == "Subscription expiration can only be 10070 minutes in the future."
    assert endpoint.validations == []


def test_it_refuses_a_client_state_over_128_characters(graph, sim, notification_endpoint):
    response = _subscribe(graph, sim, notification_endpoint().url, clientState="x" * 129)
    assert response.status_code == 400


def test_it_notifies_each_change_with_the_client_state(graph, sim, notification_endpoint):
    endpoint = notification_endpoint()
    subscription = _subscribe(graph, sim, endpoint.url).json()
    event = graph.post("/me/events", event_body()).json()
    control(sim, "PATCH", f"/events/{event['id']}", {"subject": "Changed by the owner"})
    graph.delete(f"/me/events/{event['id']}")
    bodies = endpoint.wait_for(3)
    items = [body["value"][0] for body in bodies]
    assert sorted(item["changeType"] for item in items) == ["created", "deleted", "updated"]
    first = items[0]
    assert first["subscriptionId"] == subscription["id"]
    assert first["clientState"] == "secret-client-state"
    assert first["tenantId"] == sim.mailbox.tenant_id
    assert first["resource"] == f"Users/{sim.mailbox.user_id}/Events/{event['id']}"
    assert first["resourceData"]["id"] == event["id"]
    assert first["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"


def test_it_renews_a_subscription(graph, sim, notification_endpoint):
    subscription = _subscribe(graph, sim, notification_endpoint().url).json()
    later = _in(sim, 10_000)
    response = graph.patch(f"/subscriptions/{subscription['id']}", {"expirationDateTime": later})
    assert response.status_code == 200
    assert response.json()["expirationDateTime"].startswith(later[:19])


def test_it_stops_notifying_after_a_delete(graph, sim, notification_endpoint):
    endpoint = notification_endpoint()
    subscription = _subscribe(graph, sim, endpoint.url).json()
    assert graph.delete(f"/subscriptions/{subscription['id']}").status_code == 204
    graph.post("/me/events", event_body())
    assert sim.subscriptions.sent == []
    assert graph.get(f"/subscriptions/{subscription['id']}").status_code == 404


def test_an_expired_subscription_stops_and_cannot_be_renewed(graph, sim, notification_endpoint):
    endpoint = notification_endpoint()
    subscription = _subscribe(graph, sim, endpoint.url, expirationDateTime=_in(sim, 50)).json()
    control(sim, "POST", "/advance", {"seconds": 51 * 60})
    # The access token has expired meanwhile: the hub would refresh it.
    graph = graph_for(sim)
    graph.post("/me/events", event_body())
    assert sim.subscriptions.sent == []
    response = graph.patch(f"/subscriptions/{subscription['id']}",
                           {"expirationDateTime": _in(sim, 60)})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ResourceNotFound"
    assert sim.subscriptions.expired == [subscription["id"]]


def test_it_notifies_only_the_subscribed_calendar(graph, sim, notification_endpoint):
    calendar = control(sim, "POST", "/calendars", {"name": "Trainings"}).json()
    endpoint = notification_endpoint()
    _subscribe(graph, sim, endpoint.url, resource=f"me/calendars/{calendar['id']}/events")
    graph.post("/me/events", event_body(subject="Default calendar"))
    made = graph.post(f"/me/calendars/{calendar['id']}/events", event_body()).json()
    bodies = endpoint.wait_for(1)
    assert [b["value"][0]["resourceData"]["id"] for b in bodies] == [made["id"]]
    assert len(sim.subscriptions.sent) == 1


def test_it_lists_the_applications_subscriptions(graph, sim, notification_endpoint):
    subscription = _subscribe(graph, sim, notification_endpoint().url).json()
    listed = graph.get("/subscriptions").json()["value"]
    assert [s["id"] for s in listed] == [subscription["id"]]


def test_it_retries_a_notification_the_endpoint_failed(microsoft_simulator,
                                                        notification_endpoint):
    sim = microsoft_simulator(notification_retry_seconds=0.05)
    graph = graph_for(sim)
    endpoint = notification_endpoint(fail_first=2)
    _subscribe(graph, sim, endpoint.url)
    graph.post("/me/events", event_body())
    assert [b["value"][0]["changeType"] for b in endpoint.wait_for(1)] == ["created"]
    assert endpoint.failed == 2
    # The sender records the delivery once the endpoint's answer is read.
    deadline = time.monotonic() + 5
    while sim.subscriptions.state(sim.mailbox)["active"][0]["delivered"] != 1:
        assert time.monotonic() < deadline, sim.subscriptions.state(sim.mailbox)
        time.sleep(0.02)
    assert sim.subscriptions.state(sim.mailbox)["active"][0]["attempts"] == 3
