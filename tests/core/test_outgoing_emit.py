"""Emitting an event: one delivery per active, subscribed, matching endpoint of the
tenant, each with its outbox operation, in the caller's transaction; endpoints'
settings checked as the seed describes them (headers, filters, retry policy)."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.core.errors import ServiceError
from apps.core.models import OutboundOperation, WebhookDelivery, WebhookEndpoint
from apps.core.outgoing import (
    DELIVER_KIND,
    WebhookEventType,
    WebhookFilter,
    endpoint_create,
    endpoint_update,
    retry_plan,
    webhook_emit,
    webhook_event_type_register,
)
from apps.core.registry_names import DuplicateRegistration

pytestmark = pytest.mark.django_db

webhook_event_type_register(WebhookEventType(
    name="test.eventCreated", domain="tests",
    filters=(WebhookFilter(name="eventTypes", field="eventType", kind="in"),)))
webhook_event_type_register(WebhookEventType(
    name="test.attendanceUpdated", domain="tests",
    filters=(WebhookFilter(name="eventTypes", field="event.type", kind="in"),
             WebhookFilter(name="minAttendanceChange", field="change", kind="min_abs"))))
URL = "https://hooks.partner.example/events"


@pytest.fixture(autouse=True)
def _no_dns(settings):
    # Nothing is sent here: the URLs need not resolve.
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True


def _endpoint(**kwargs) -> WebhookEndpoint:
    values = {"url": URL, "event_types": ["test.attendanceUpdated"],
              "tenant_type": "organization", "tenant_id": "7", **kwargs}
    return endpoint_create(**values)


def _attendance(change: float, event_type: str = "training", tenant_id: str = "7"):
    return webhook_emit(event_type="test.attendanceUpdated",
                        payload={"event": {"id": 3, "type": event_type}, "change": change},
                        tenant_type="organization", tenant_id=tenant_id)


def test_it_applies_the_seeds_attendance_filters():
    # The seed's example: trainings and conferences, changes of 10 % or more.
    _endpoint(filters={"eventTypes": ["training", "conference"], "minAttendanceChange": 0.1})

    assert len(_attendance(0.25)) == 1
    assert len(_attendance(-0.15, "conference")) == 1
    assert _attendance(0.05) == []
    assert _attendance(0.5, "meeting") == []


def test_an_event_lacking_a_filtered_field_does_not_match():
    _endpoint(filters={"minAttendanceChange": 0.1})

    assert webhook_emit(event_type="test.attendanceUpdated", payload={"event": {"id": 3}},
                        tenant_type="organization", tenant_id="7") == []


def test_only_the_tenants_active_subscribed_endpoints_receive_it():
    mine = _endpoint()
    _endpoint(tenant_id="8")
    _endpoint(event_types=["test.eventCreated"])
    WebhookEndpoint.objects.filter(pk=_endpoint().pk).update(is_active=False)

    deliveries = _attendance(0.3)

    assert [d.endpoint_id for d in deliveries] == [mine.pk]


def test_each_delivery_has_its_outbox_operation_and_envelope():
    _endpoint()
    _endpoint(url="https://other.partner.example/hook")

    deliveries = _attendance(0.3)

    assert len({d.message_id for d in deliveries}) == 2
    for delivery in deliveries:
        operation = delivery.operation
        assert operation.kind == DELIVER_KIND and operation.platform == "webhooks"
        assert operation.payload == {"delivery_id": delivery.pk}
        assert operation.idempotency_key == f"webhook:{delivery.message_id}"
        assert operation.state == OutboundOperation.State.PENDING
        assert delivery.payload["type"] == "test.attendanceUpdated"
        assert delivery.payload["data"]["change"] == 0.3
        assert delivery.payload["timestamp"].endswith("Z")


def test_nothing_is_left_when_the_callers_transaction_rolls_back():
    _endpoint()

    with pytest.raises(RuntimeError), transaction.atomic():
        _attendance(0.3)
        raise RuntimeError("the change failed")

    assert not WebhookDelivery.objects.exists()
    assert not OutboundOperation.objects.exists()


def test_an_unregistered_event_type_is_a_programming_error():
    with pytest.raises(ValueError, match="not registered"):
        webhook_emit(event_type="test.nobodyDeclared", payload={}, tenant_type="", tenant_id="")


def test_another_declaration_under_a_taken_name_is_refused():
    with pytest.raises(DuplicateRegistration):
        webhook_event_type_register(WebhookEventType(name="test.eventCreated",
                                                     domain="elsewhere"))


def test_headers_and_secret_are_stored_encrypted():
    endpoint = _endpoint(headers={"Authorization": "Bearer partner-token-123"})

    stored = WebhookEndpoint.objects.values("encrypted_headers", "encrypted_secret").get()
    assert "partner-token-123" not in stored["encrypted_headers"]
    assert "whsec_" not in stored["encrypted_secret"]
    assert endpoint.headers() == {"Authorization": "Bearer partner-token-123"}
    assert endpoint.secret().startswith("whsec_")


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"event_types": []}, "webhook_event_types_invalid", "event_types"),
    ({"event_types": ["test.unknown"]}, "webhook_event_type_unknown", "event_types"),
    ({"filters": {"minDuration": 3}}, "webhook_filter_unknown", "filters"),
    ({"filters": {"eventTypes": "training"}}, "webhook_filter_invalid", "filters"),
    ({"filters": {"minAttendanceChange": "a lot"}}, "webhook_filter_invalid", "filters"),
    ({"headers": {"webhook-signature": "v1,forged"}}, "webhook_headers_invalid", "headers"),
    ({"headers": {"X-Bad": "one\r\nInjected: two"}}, "webhook_headers_invalid", "headers"),
    ({"headers": {"Bad Name": "x"}}, "webhook_headers_invalid", "headers"),
    ({"headers": {"Content-Type": "text/plain"}}, "webhook_headers_invalid", "headers"),
    ({"max_retries": 11}, "webhook_retry_policy_invalid", "max_retries"),
    ({"max_retries": -1}, "webhook_retry_policy_invalid", "max_retries"),
    ({"backoff_multiplier": 0.5}, "webhook_retry_policy_invalid", "backoff_multiplier"),
    ({"secret": "not-a-secret"}, "webhook_secret_invalid", "secret"),
    ({"secret": "whsec_c2hvcnQ="}, "webhook_secret_invalid", "secret"),
])
def test_bad_settings_are_refused_naming_the_field(changes, code, field):
    with pytest.raises(ServiceError) as refused:
        _endpoint(**changes)

    assert refused.value.status == 400
    assert refused.value.code == code
    assert field in refused.value.details


def test_the_seeds_configuration_is_accepted():
    endpoint = _endpoint(event_types=["test.eventCreated"],
                         headers={"Authorization": "Bearer token",
                                  "Content-Type": "application/json"},
                         max_retries=3, backoff_multiplier=2)

    assert [wait.total_seconds() for wait in retry_plan(endpoint)] == [60, 120, 240]


def test_an_update_keeps_what_is_not_given_and_checks_filters_against_new_types():
    endpoint = _endpoint(headers={"X-Key": "k-1"}, filters={"minAttendanceChange": 0.1})
    secret = endpoint.secret()

    endpoint = endpoint_update(endpoint=endpoint, description="Partner CRM")
    assert endpoint.headers() == {"X-Key": "k-1"} and endpoint.secret() == secret

    with pytest.raises(ServiceError) as refused:
        endpoint_update(endpoint=endpoint, event_types=["test.eventCreated"])
    assert refused.value.code == "webhook_filter_unknown"

    endpoint = endpoint_update(endpoint=endpoint, headers={}, secret="")
    assert endpoint.headers() == {} and endpoint.secret() != secret


def test_an_owner_disables_an_endpoint_without_raising_an_attention_item():
    from apps.core.models import AttentionItem
    from apps.core.outgoing import endpoint_disable

    endpoint = endpoint_disable(endpoint=_endpoint(), reason="integration deleted")

    assert not endpoint.is_active and endpoint.disabled_reason == "integration deleted"
    assert _attendance(0.3) == []
    assert not AttentionItem.objects.exists()


def test_re_enabling_checks_the_url_again(settings, monkeypatch):
    import socket

    from apps.core.outgoing import endpoint_disable, endpoint_enable

    endpoint = endpoint_disable(endpoint=_endpoint(), reason="paused")
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.3", port))])

    with pytest.raises(ServiceError) as refused:
        endpoint_enable(endpoint=endpoint)

    assert refused.value.code == "webhook_url_not_public"
    endpoint.refresh_from_db()
    assert not endpoint.is_active
