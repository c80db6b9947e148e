"""The back-office of outgoing webhooks: endpoints (secrets write-only, shown masked,
the services' rules as form errors, "Re-enable") and deliveries with their attempts
and "Redeliver"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.models import AttentionItem, WebhookDelivery, WebhookEndpoint
from apps.core.operations import operation_run
from apps.core.outgoing import (
    ENDPOINT_DISABLED,
    WebhookEventType,
    _disable_failing,
    endpoint_create,
    webhook_emit,
    webhook_event_type_register,
)
from tests.core.local_server import WebhookReceiver

pytestmark = pytest.mark.django_db

webhook_event_type_register(WebhookEventType(name="test.adminShown", domain="tests"))
SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes, base64


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def receiver():
    server = WebhookReceiver(path="/hook").start()
    yield server
    server.stop()


def _endpoint(url: str) -> WebhookEndpoint:
    return endpoint_create(url=url, event_types=["test.adminShown"], tenant_type="organization",
                           tenant_id="7", secret=SECRET,
                           headers={"Authorization": "Bearer partner-token-123"})


def _delivered(receiver) -> WebhookDelivery:
    _endpoint(receiver.url)
    [delivery] = webhook_emit(event_type="test.adminShown", payload={"id": 1},
                              tenant_type="organization", tenant_id="7")
    operation_run(delivery.operation_id)
    delivery.refresh_from_db()
    return delivery


def test_the_pages_open_and_never_show_the_secrets(admin_client, receiver):
    delivery = _delivered(receiver)
    endpoint = delivery.endpoint

    pages = [reverse("admin:core_webhookendpoint_changelist"),
             reverse("admin:core_webhookendpoint_add"),
             reverse("admin:core_webhookendpoint_change", args=[endpoint.pk]),
             reverse("admin:core_webhookdelivery_changelist"),
             reverse("admin:core_webhookdelivery_change", args=[delivery.pk])]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "partner-token-123" not in response.content.decode()
        assert SECRET not in response.content.decode()

    page = admin_client.get(pages[4]).content.decode()
    assert delivery.message_id in page
    assert "Redeliver" in page
    assert "All audit rows of this delivery" in page


def test_a_manager_redelivers_from_the_deliverys_page(admin_client, receiver):
    delivery = _delivered(receiver)

    response = admin_client.post(
        reverse("admin:core_webhookdelivery_action_redeliver", args=[delivery.pk]))

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    operation_run(delivery.operation_id)
    assert [h["webhook-id"] for h, _ in receiver.accepted()] == [delivery.message_id] * 2


def test_a_manager_re_enables_a_disabled_endpoint(admin_client, receiver):
    endpoint = _endpoint(receiver.url)
    _disable_failing(endpoint, "5 deliveries in a row failed")

    response = admin_client.post(
        reverse("admin:core_webhookendpoint_action_reenable", args=[endpoint.pk]))

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert not AttentionItem.objects.open().filter(kind=ENDPOINT_DISABLED).exists()


def test_the_add_form_saves_through_the_service(admin_client, receiver):
    response = admin_client.post(reverse("admin:core_webhookendpoint_add"), {
        "tenant_type": "organization", "tenant_id": "7", "url": receiver.url,
        "description": "Partner CRM", "event_types": ["test.adminShown"], "filters": "{}",
        "max_retries": "3", "backoff_multiplier": "2",
        "new_headers": '{"Authorization": "Bearer t-1"}', "new_secret": ""})

    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.headers() == {"Authorization": "Bearer t-1"}
    assert endpoint.secret().startswith("whsec_")


def test_the_add_form_names_the_rule_a_private_address_breaks(admin_client, settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False

    response = admin_client.post(reverse("admin:core_webhookendpoint_add"), {
        "url": "http://127.0.0.1:9/hook", "event_types": ["test.adminShown"],
        "filters": "{}", "max_retries": "3", "backoff_multiplier": "2"})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "public addresses only" in errors["url"][0]
    assert not WebhookEndpoint.objects.exists()
