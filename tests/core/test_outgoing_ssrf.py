"""Webhook URLs reach public addresses only: refused when saved (400 naming the rule)
and again when each request connects, so a name that resolved to a public address
when saved and to 127.0.0.1 at send time (DNS rebinding) is refused, no request made."""

from __future__ import annotations

import socket

import pytest

from apps.core.errors import ServiceError
from apps.core.models import SyncLog, WebhookDelivery
from apps.core.operations import operation_run
from apps.core.outgoing import (
    WebhookEventType,
    address_refusal,
    endpoint_create,
    endpoint_update,
    webhook_emit,
    webhook_event_type_register,
)
from tests.core.local_server import WebhookReceiver

pytestmark = pytest.mark.django_db

webhook_event_type_register(WebhookEventType(name="test.ssrfChecked", domain="tests"))
PUBLIC = "93.184.215.14"
_real_getaddrinfo = socket.getaddrinfo


class FakeDns:
    """Answers the test's names; IP literals and localhost go to the real resolver."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        self.lookups.append(host)
        answer = self.answers[host]
        addresses = answer.pop(0) if len(answer) > 1 else answer[0]
        result = []
        for address in addresses.split(","):
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port or 0, 0, 0) if family == socket.AF_INET6 else (
                address, port or 0)
            result.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return result


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture(autouse=True)
def _public_only(settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False


def _create(url: str):
    return endpoint_create(url=url, event_types=["test.ssrfChecked"],
                           tenant_type="organization", tenant_id="7")


def test_a_name_resolving_to_127_0_0_1_is_refused_when_saved(dns):
    dns.answers["hooks.partner.example"] = ["127.0.0.1"]

    with pytest.raises(ServiceError) as refused:
        _create("https://hooks.partner.example/events")

    error = refused.value
    assert error.status == 400
    assert error.code == "webhook_url_not_public"
    assert error.details["rule"] == "public_addresses_only"
    assert "public addresses only" in error.details["url"][0]
    assert "127.0.0.1, a loopback address" in error.message


@pytest.mark.parametrize(("address", "rule"), [
    ("10.1.2.3", "private"),
    ("192.168.0.10", "private"),
    ("169.254.169.254", "link-local"),  # a cloud's metadata service
    ("100.64.0.1", "non-public"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a bind
    ("224.0.0.1", "multicast"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::5", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
])
def test_every_non_public_address_is_refused(dns, address, rule):
    dns.answers["hooks.partner.example"] = [address]

    assert address_refusal(address) == rule
    with pytest.raises(ServiceError) as refused:
        _create("https://hooks.partner.example/events")
    assert refused.value.code == "webhook_url_not_public"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://[::1]/hook",
                                 "http://[::ffff:127.0.0.1]/hook", "http://localhost/hook"])
def test_literal_and_local_hosts_are_refused(url):
    with pytest.raises(ServiceError) as refused:
        _create(url)

    assert refused.value.code == "webhook_url_not_public"


def test_a_name_with_one_private_address_among_public_ones_is_refused(dns):
    dns.answers["hooks.partner.example"] = [f"{PUBLIC},10.0.0.7"]

    with pytest.raises(ServiceError) as refused:
        _create("https://hooks.partner.example/events")

    assert "10.0.0.7" in refused.value.message


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://hooks.partner.example/x", "webhook_url_scheme"),
    ("file:///etc/passwd", "webhook_url_scheme"),
    ("https://user:secret@hooks.partner.example/x", "webhook_url_credentials"),
    ("https:///no-host", "webhook_url_invalid"),
    ("", "webhook_url_invalid"),
])
def test_other_url_rules(dns, url, code):
    dns.answers["hooks.partner.example"] = [PUBLIC]

    with pytest.raises(ServiceError) as refused:
        _create(url)

    assert refused.value.code == code


def test_a_public_name_is_accepted_and_an_update_is_checked_again(dns):
    dns.answers["hooks.partner.example"] = [PUBLIC]
    dns.answers["internal.partner.example"] = ["10.9.8.7"]
    endpoint = _create("https://hooks.partner.example/events")

    with pytest.raises(ServiceError):
        endpoint_update(endpoint=endpoint, url="https://internal.partner.example/x")

    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.partner.example/events"


def test_a_name_rebound_to_127_0_0_1_after_saving_is_refused_at_send_time(dns):
    receiver = WebhookReceiver(path="/hook").start()
    port = receiver._server.server_address[1]
    try:
        # Public when saved, the receiver's loopback address when sent.
        dns.answers["rebind.partner.example"] = [PUBLIC, "127.0.0.1"]
        _create(f"http://rebind.partner.example:{port}/hook")
        [delivery] = webhook_emit(event_type="test.ssrfChecked", payload={"id": 1},
                                  tenant_type="organization", tenant_id="7")

        operation_run(delivery.operation_id)
    finally:
        receiver.stop()

    delivery.refresh_from_db()
    assert receiver.hits == []
    assert delivery.status == WebhookDelivery.Status.DEAD
    assert "127.0.0.1, a loopback address" in delivery.last_error
    [row] = SyncLog.objects.filter(entity_type="core.webhookdelivery",
                                   entity_id=str(delivery.pk))
    assert row.status == SyncLog.Status.FAILED and row.http_status is None
    assert "refused before connecting" in row.error


def test_it_connects_to_the_address_it_checked_without_looking_the_name_up_again(
        dns, monkeypatch):
    # Count 127.0.0.1 as public for this test only, so a delivery can reach the
    # local receiver; a second lookup of the name would get 10.0.0.1 instead.
    from apps.core import outgoing

    real_refusal = outgoing.address_refusal
    monkeypatch.setattr(outgoing, "address_refusal",
                        lambda address: "" if address == "127.0.0.1" else real_refusal(address))
    receiver = WebhookReceiver(path="/hook").start()
    port = receiver._server.server_address[1]
    try:
        dns.answers["rebind.partner.example"] = ["127.0.0.1", "127.0.0.1", "10.0.0.1"]
        _create(f"http://rebind.partner.example:{port}/hook")
        [delivery] = webhook_emit(event_type="test.ssrfChecked", payload={"id": 1},
                                  tenant_type="organization", tenant_id="7")
        operation_run(delivery.operation_id)
    finally:
        receiver.stop()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    # One lookup when saved, one when connecting: the socket went to its answer.
    assert dns.lookups == ["rebind.partner.example", "rebind.partner.example"]
    [(headers, _body)] = receiver.accepted()
    assert headers["host"] == f"rebind.partner.example:{port}"


def test_the_development_setting_lets_local_receivers_in(settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    receiver = WebhookReceiver(path="/hook").start()
    try:
        _create(receiver.url)
        [delivery] = webhook_emit(event_type="test.ssrfChecked", payload={"id": 1},
                                  tenant_type="organization", tenant_id="7")
        operation_run(delivery.operation_id)
    finally:
        receiver.stop()

    assert len(receiver.accepted()) == 1
