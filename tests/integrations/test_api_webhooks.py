"""/api/integrations/webhooks: the seed's webhook configuration on the core's endpoints,
a signed test delivery answered now (WEBHOOK_FAILED when refused), and the
deliveries, for the user's organisation only."""

from __future__ import annotations

import json
import socket

import pytest
from rest_framework.test import APIClient

from apps.core.channels import STANDARD_WEBHOOKS, Inbound
from apps.core.models import WebhookDelivery, WebhookEndpoint
from apps.core.operations import operation_run
from apps.integrations import webhooks_config
from apps.integrations.models import ORGANIZATION_TENANT
from apps.integrations.outgoing_events import emit_event_created
from tests.core.local_server import WebhookReceiver
from tests.integrations.factories import EventFactory, OrganizationFactory, member

pytestmark = pytest.mark.django_db

URL = "/api/integrations/webhooks"
PUBLIC = "93.184.215.14"
_real_getaddrinfo = socket.getaddrinfo

SEED_BODY = {
    "webhooks": {
        "eventCreated": {
            "enabled": True,
            "url": "https://api.external-service.com/webhooks/event-created",
            "headers": {"Authorization": "Bearer token", "Content-Type": "application/json"},
            "retryPolicy": {"maxRetries": 3, "backoffMultiplier": 2},
        },
        "attendanceUpdated": {
            "enabled": True,
            "url": "https://api.external-service.com/webhooks/attendance",
            "filters": {"eventTypes": ["training", "conference"], "minAttendanceChange": 0.1},
        },
    }
}


@pytest.fixture
def dns(monkeypatch):
    """The partner's name resolves to a public address, evil.example to loopback;
    IP literals go to the real resolver."""
    answers = {"api.external-service.com": PUBLIC, "evil.example": "127.0.0.1"}

    def fake(host, port, *args, **kwargs):
        if host not in answers:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.fixture(autouse=True)
def _public_only(settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme")


@pytest.fixture
def manager(acme):
    return member(organization=acme, username="marie")


@pytest.fixture
def api(manager) -> APIClient:
    client = APIClient()
    client.force_authenticate(manager)
    return client


@pytest.fixture
def receiver():
    server = WebhookReceiver(path="/hooks").start()
    yield server
    server.stop()


def _endpoints(organization) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(
        tenant_type=ORGANIZATION_TENANT, tenant_id=str(organization.pk)).order_by("pk"))


def _configure(api, settings, url: str, **config) -> dict:
    """An eventCreated webhook to a local receiver (private addresses allowed to save)."""
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    response = api.put(URL, {"webhooks": {"eventCreated": {"url": url, **config}}},
                       format="json")
    assert response.status_code == 200, response.json()
    return response.json()["data"]["webhooks"]["eventCreated"]


# -- configuration ----------------------------------------------------------------------------

def test_nothing_is_configured_at_first(api):
    response = api.get(URL)

    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"webhooks": {}}}


def test_the_seeds_body_creates_one_endpoint_per_event_type_for_the_organisation(
        api, acme, dns):
    response = api.put(URL, SEED_BODY, format="json")

    assert response.status_code == 200, response.json()
    webhooks = response.json()["data"]["webhooks"]
    created, attendance = _endpoints(acme)
    assert (created.event_types, attendance.event_types) == (
        ["eventCreated"], ["attendanceUpdated"])
    assert created.headers() == {"Authorization": "Bearer token",
                                 "Content-Type": "application/json"}
    assert (created.max_retries, created.backoff_multiplier) == (3, 2.0)
    assert attendance.filters == {"eventTypes": ["training", "conference"],
                                  "minAttendanceChange": 0.1}
    shown = webhooks["eventCreated"]
    assert shown["url"] == "https://api.external-service.com/webhooks/event-created"
    assert shown["headers"]["Authorization"] == "•••••••••ken"
    assert shown["retryPolicy"] == {"maxRetries": 3, "backoffMultiplier": 2.0}
    assert shown["enabled"] is True and shown["state"]["active"] is True
    # The secrets just generated are shown once, in full, to give to the partner.
    assert shown["secret"] == created.secret() and shown["secret"].startswith("whsec_")
    assert webhooks["attendanceUpdated"]["secret"] == attendance.secret()
    assert webhooks["attendanceUpdated"]["filters"] == attendance.filters


def test_reading_it_back_masks_every_secret(api, acme, dns):
    api.put(URL, SEED_BODY, format="json")
    created = _endpoints(acme)[0]

    shown = api.get(URL).json()["data"]["webhooks"]["eventCreated"]

    assert created.secret() not in json.dumps(shown)
    assert shown["secret"].endswith(created.secret()[-3:]) and "•" in shown["secret"]
    assert "Bearer token" not in json.dumps(shown)


def test_a_masked_header_sent_back_keeps_the_stored_value(api, acme, dns):
    api.put(URL, SEED_BODY, format="json")
    shown = api.get(URL).json()["data"]["webhooks"]["eventCreated"]
    body = {"webhooks": {"eventCreated": {
        "url": shown["url"], "secret": shown["secret"],
        "headers": {**shown["headers"], "X-Partner": "acme"}}}}

    response = api.put(URL, body, format="json")

    assert response.status_code == 200, response.json()
    created = _endpoints(acme)[0]
    assert created.headers() == {"Authorization": "Bearer token",
                                 "Content-Type": "application/json", "X-Partner": "acme"}
    # Sent back masked, the secret stays, and is not shown again in full.
    assert response.json()["data"]["webhooks"]["eventCreated"]["secret"] == shown["secret"]


def test_a_masked_value_that_is_not_the_stored_one_is_refused(api, dns):
    api.put(URL, SEED_BODY, format="json")
    body = {"webhooks": {"eventCreated": {
        "url": "https://api.external-service.com/x", "headers": {"Authorization": "•••abc"}}}}

    response = api.put(URL, body, format="json")

    assert response.status_code == 400
    assert "webhooks.eventCreated.headers" in response.json()["error"]["details"]


def test_a_url_resolving_to_loopback_is_refused_naming_the_rule_and_nothing_is_saved(
        api, acme, dns):
    body = json.loads(json.dumps(SEED_BODY))
    body["webhooks"]["attendanceUpdated"]["url"] = "https://evil.example/hooks"

    response = api.put(URL, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "webhook_url_not_public"
    assert error["details"]["rule"] == "public_addresses_only"
    assert "webhooks.attendanceUpdated.url" in error["details"]
    assert "loopback" in error["message"]
    # eventCreated was valid, but the configuration is replaced all or nothing.
    assert _endpoints(acme) == []


def test_a_private_address_literal_is_refused(api, acme):
    response = api.put(URL, {"webhooks": {"eventCreated": {"url": "http://10.0.0.5/hook"}}},
                       format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["rule"] == "public_addresses_only"


@pytest.mark.parametrize("body, field", [
    ({"webhooks": {}, "extra": 1}, "extra"),
    ({"webhooks": {"eventDeleted": {"url": "https://api.external-service.com/x"}}},
     "eventDeleted"),
    ({"webhooks": {"eventCreated": {"url": "https://api.external-service.com/x",
                                    "secretKey": "x"}}}, "secretKey"),
    ({"webhooks": {"eventCreated": {"url": "https://api.external-service.com/x",
                                    "filters": {"minAttendanceChange": 0.1}}}},
     "minAttendanceChange"),
    ({"webhooks": {"eventCreated": {"url": "https://api.external-service.com/x",
                                    "retryPolicy": {"maxRetries": 3, "delay": 5}}}}, "delay"),
])
def test_an_unknown_key_is_refused_by_name(api, acme, body, field):
    response = api.put(URL, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_field"
    assert field in json.dumps(error["details"])
    assert _endpoints(acme) == []


def test_wrong_values_are_refused(api, acme):
    body = {"webhooks": {"attendanceUpdated": {
        "url": "https://api.external-service.com/x",
        "retryPolicy": {"maxRetries": 11, "backoffMultiplier": 0.5},
        "filters": {"eventTypes": ["party"], "minAttendanceChange": 2}}}}

    response = api.put(URL, body, format="json")

    assert response.status_code == 400
    details = json.dumps(response.json()["error"]["details"])
    for name in ("maxRetries", "backoffMultiplier", "eventTypes", "minAttendanceChange"):
        assert name in details


def test_a_new_webhook_needs_a_url(api, acme):
    response = api.put(URL, {"webhooks": {"eventCreated": {"enabled": True}}}, format="json")

    assert response.status_code == 400
    assert "webhooks.eventCreated.url" in response.json()["error"]["details"]


def test_disabling_leaving_out_and_re_enabling(api, acme, dns):
    api.put(URL, SEED_BODY, format="json")

    response = api.put(URL, {"webhooks": {"eventCreated": {"enabled": False}}}, format="json")

    assert response.status_code == 200, response.json()
    created, attendance = _endpoints(acme)
    assert not created.is_active and "marie" in created.disabled_reason
    # Left out: disabled, not deleted (its deliveries stay on record).
    assert not attendance.is_active and "left out" in attendance.disabled_reason
    # Within a type, what is left out is kept.
    assert created.url == "https://api.external-service.com/webhooks/event-created"
    assert created.headers()["Authorization"] == "Bearer token"
    assert response.json()["data"]["webhooks"]["eventCreated"]["enabled"] is False

    api.put(URL, {"webhooks": {"eventCreated": {}}}, format="json")

    created.refresh_from_db()
    assert created.is_active and created.disabled_reason == ""


def test_a_key_sent_replaces_the_stored_one_and_a_key_left_out_is_kept(api, acme, dns):
    api.put(URL, SEED_BODY, format="json")
    body = {"webhooks": {
        "eventCreated": {"retryPolicy": {"maxRetries": 5}, "headers": {}},
        "attendanceUpdated": {"filters": {"eventTypes": ["meeting"]}}}}

    response = api.put(URL, body, format="json")

    assert response.status_code == 200, response.json()
    created, attendance = _endpoints(acme)
    assert (created.max_retries, created.backoff_multiplier) == (5, 2.0)
    assert created.headers() == {}
    assert attendance.filters == {"eventTypes": ["meeting"]}
    assert attendance.url == "https://api.external-service.com/webhooks/attendance"


def test_disabling_needs_no_resolvable_host(api, acme, dns, monkeypatch):
    api.put(URL, SEED_BODY, format="json")

    def no_dns(*args, **kwargs):
        raise socket.gaierror("the partner's domain expired")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    response = api.put(URL, {"webhooks": {}}, format="json")

    assert response.status_code == 200, response.json()
    assert [endpoint.is_active for endpoint in _endpoints(acme)] == [False, False]


def test_a_disabled_type_never_configured_creates_nothing(api, acme):
    response = api.put(URL, {"webhooks": {"eventCreated": {"enabled": False}}}, format="json")

    assert response.status_code == 200
    assert _endpoints(acme) == []


def test_another_organisations_webhooks_are_neither_shown_nor_changed(api, acme, settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    other = OrganizationFactory()
    theirs = webhooks_config.webhooks_configure(
        organization=other, user=member(organization=other),
        webhooks={"eventCreated": {"url": "https://partner.example/other"}}
    ).endpoints["eventCreated"]

    assert api.get(URL).json()["data"]["webhooks"] == {}
    api.put(URL, {"webhooks": {}}, format="json")

    theirs.refresh_from_db()
    assert theirs.is_active


def test_only_managers_and_admins_may_use_it(acme):
    client = APIClient()
    client.force_authenticate(member(organization=acme, group=None))

    response = client.get(URL)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


# -- test delivery ----------------------------------------------------------------------------

def test_a_test_delivery_is_signed_and_answered_now(api, acme, settings, receiver):
    _configure(api, settings, receiver.url)
    endpoint = _endpoints(acme)[0]

    response = api.post(f"{URL}/test", {"eventType": "eventCreated"}, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["status"], data["statusCode"], data["attempts"]) == ("succeeded", 200, 1)
    [(headers, body)] = receiver.accepted()
    verified = STANDARD_WEBHOOKS.verify(Inbound(body=body, headers=headers), endpoint.secret())
    assert verified.event_id == data["messageId"]
    event = json.loads(body)
    assert event["type"] == "eventCreated" and event["data"]["test"] is True
    assert WebhookDelivery.objects.get(pk=data["deliveryId"]).status == "succeeded"


def test_a_refused_test_is_webhook_failed_with_the_receivers_status(
        api, acme, settings, receiver):
    receiver.fail_first = 1
    _configure(api, settings, receiver.url, retryPolicy={"maxRetries": 2})

    response = api.post(f"{URL}/test", {"eventType": "eventCreated"}, format="json")

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "WEBHOOK_FAILED"
    assert error["details"]["statusCode"] == 500
    assert "500" in error["details"]["error"]
    # Retried per the endpoint's policy, like any delivery.
    assert error["details"]["status"] == "failed" and error["details"]["nextAttemptAt"]


def test_a_test_to_an_address_that_became_private_is_refused_at_send_time(
        api, acme, settings, receiver):
    _configure(api, settings, receiver.url)
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False

    response = api.post(f"{URL}/test", {"eventType": "eventCreated"}, format="json")

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "WEBHOOK_FAILED"
    assert "loopback" in error["details"]["error"] and error["details"]["statusCode"] is None
    assert receiver.hits == []


def test_a_test_answers_the_outcome_when_a_worker_sent_it_first(
        api, acme, settings, receiver, monkeypatch):
    _configure(api, settings, receiver.url)

    def worker_first(operation_id):
        operation_run(operation_id)  # a worker's run; this request's claim then fails
        return None

    monkeypatch.setattr(webhooks_config, "operation_run", worker_first)

    response = api.post(f"{URL}/test", {"eventType": "eventCreated"}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "succeeded"


def test_a_test_needs_a_configured_and_enabled_webhook(api, acme, settings, receiver):
    response = api.post(f"{URL}/test", {"eventType": "attendanceUpdated"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "webhook_not_configured"

    _configure(api, settings, receiver.url, enabled=False)
    response = api.post(f"{URL}/test", {"eventType": "eventCreated"}, format="json")
    assert response.status_code == 409
    assert receiver.hits == []


def test_a_test_of_an_unknown_event_type_is_refused(api):
    response = api.post(f"{URL}/test", {"eventType": "eventDeleted"}, format="json")

    assert response.status_code == 400
    assert "eventType" in response.json()["error"]["details"]


# -- deliveries -------------------------------------------------------------------------------

def test_deliveries_are_listed_with_their_outcome_filters_and_pages(
        api, acme, settings, receiver):
    receiver.fail_first = 1
    _configure(api, settings, receiver.url)
    [failed] = emit_event_created(event=EventFactory(organization=acme))
    operation_run(failed.operation_id)
    [delivered] = emit_event_created(event=EventFactory(organization=acme))
    operation_run(delivered.operation_id)
    other = OrganizationFactory()
    webhooks_config.webhooks_configure(
        organization=other, user=member(organization=other),
        webhooks={"eventCreated": {"url": receiver.url}})
    emit_event_created(event=EventFactory(organization=other))

    response = api.get(f"{URL}/deliveries")

    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {"page": 1, "limit": 50, "total": 2, "totalPages": 1}
    newest, oldest = body["data"]
    assert (newest["id"], newest["status"], newest["attempts"], newest["lastStatusCode"]) == (
        delivered.pk, "succeeded", 1, 200)
    assert (oldest["id"], oldest["status"], oldest["lastStatusCode"]) == (
        failed.pk, "failed", 500)
    assert oldest["nextAttemptAt"] is not None and oldest["test"] is False
    assert newest["eventType"] == "eventCreated" and newest["url"] == receiver.url

    failed_only = api.get(f"{URL}/deliveries", {"status": "failed"}).json()
    assert [row["id"] for row in failed_only["data"]] == [failed.pk]
    assert api.get(f"{URL}/deliveries", {"eventType": "attendanceUpdated"}).json()[
        "meta"]["total"] == 0
    second_page = api.get(f"{URL}/deliveries", {"limit": 1, "page": 2}).json()
    assert [row["id"] for row in second_page["data"]] == [failed.pk]
    assert second_page["meta"]["totalPages"] == 2


def test_listing_deliveries_takes_the_same_queries_however_many_there_are(
        api, acme, settings, django_assert_max_num_queries):
    _configure(api, settings, "https://partner.example/hooks")
    for _ in range(3):
        emit_event_created(event=EventFactory(organization=acme))
    with django_assert_max_num_queries(8) as few:
        api.get(f"{URL}/deliveries")
    for _ in range(10):
        emit_event_created(event=EventFactory(organization=acme))

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get(f"{URL}/deliveries")

    assert response.json()["meta"]["total"] == 13


def test_an_unknown_delivery_filter_is_refused(api):
    response = api.get(f"{URL}/deliveries", {"endpoint": 3})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_query_parameter"
