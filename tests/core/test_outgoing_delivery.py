"""Outgoing webhooks delivered over real HTTP to a local receiver: signed headers,
the attempt on record, no redirect followed, retries with backoff then dead,
redelivery under the same message id, an endpoint disabled after repeated failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
import time_machine

from apps.core.channels import STANDARD_WEBHOOKS, Inbound
from apps.core.errors import ServiceError
from apps.core.models import (
    AttentionItem,
    OutboundOperation,
    SyncLog,
    WebhookDelivery,
    WebhookEndpoint,
)
from apps.core.operations import operation_run
from apps.core.outgoing import (
    ENDPOINT_DISABLED,
    WebhookEventType,
    WebhookFilter,
    delivery_redeliver,
    endpoint_create,
    endpoint_enable,
    webhook_emit,
    webhook_event_type_register,
)
from tests.core.local_server import LocalServer, WebhookReceiver

pytestmark = pytest.mark.django_db

EVENT_CREATED = webhook_event_type_register(WebhookEventType(
    name="test.eventCreated", domain="tests",
    filters=(WebhookFilter(name="eventTypes", field="eventType", kind="in"),)))
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
Status = WebhookDelivery.Status
State = OutboundOperation.State


class RedirectingServer(LocalServer):
    """Answers every POST with a redirect to `target`, and counts them."""

    def __init__(self, target: str, status: int = 302) -> None:
        self.target, self.status, self.hits = target, status, 0
        super().__init__()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.hits += 1
                self.send_response(server.status)
                self.send_header("Location", server.target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    # The receivers listen on 127.0.0.1: only the development setting lets them in.
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    settings.OUTGOING_WEBHOOKS_DISABLE_AFTER = 3


@pytest.fixture
def receiver():
    server = WebhookReceiver(path="/hooks/events").start()
    yield server
    server.stop()


def _endpoint(url: str, **kwargs) -> WebhookEndpoint:
    values = {"event_types": ["test.eventCreated"], "tenant_type": "organization",
              "tenant_id": "7", **kwargs}
    return endpoint_create(url=url, **values)


def _emit(**payload) -> list[WebhookDelivery]:
    return webhook_emit(event_type="test.eventCreated",
                        payload={"id": 41, "eventType": "training", **payload},
                        tenant_type="organization", tenant_id="7")


def _run(delivery: WebhookDelivery) -> WebhookDelivery:
    operation_run(delivery.operation_id)
    delivery.refresh_from_db()
    return delivery


def test_it_delivers_a_signed_event_with_the_endpoints_headers(receiver):
    endpoint = _endpoint(receiver.url, headers={"Authorization": "Bearer partner-token-123"})
    [delivery] = _emit(title="Onboarding")

    delivery = _run(delivery)

    [(headers, body)] = receiver.accepted()
    verified = STANDARD_WEBHOOKS.verify(Inbound(body=body, headers=headers), endpoint.secret())
    assert verified.event_id == delivery.message_id == headers["webhook-id"]
    assert headers["authorization"] == "Bearer partner-token-123"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")
    event = json.loads(body)
    assert event["type"] == "test.eventCreated"
    assert event["data"] == {"id": 41, "eventType": "training", "title": "Onboarding"}
    assert delivery.status == Status.SUCCEEDED
    assert delivery.attempts == 1 and delivery.last_status_code == 200
    assert delivery.operation.state == State.SUCCEEDED


def test_it_records_the_attempt_in_the_audit_log_with_the_secrets_masked(receiver):
    endpoint = _endpoint(receiver.url, headers={"X-Partner-Key": "partner-key-98765"})
    [delivery] = _emit()

    _run(delivery)

    [row] = SyncLog.objects.filter(entity_type="core.webhookdelivery",
                                   entity_id=str(delivery.pk))
    assert row.status == SyncLog.Status.SUCCESS
    assert row.http_status == 200 and row.attempt == 1
    assert row.operation_id == delivery.operation_id
    assert row.url == endpoint.url
    stored = json.dumps(row.request_headers)
    assert "partner-key-98765" not in stored
    assert endpoint.secret() not in stored
    assert row.request_headers["webhook-id"] == delivery.message_id


def test_the_attempt_is_on_record_before_the_request_goes_out(receiver, monkeypatch):
    from apps.core import outgoing

    seen = []
    real_session = outgoing._session

    def watched_session():
        session = real_session()
        real_post = session.post

        def post(url, **kwargs):
            # What the audit log holds at the moment the request is sent.
            seen.extend(SyncLog.objects.filter(entity_type="core.webhookdelivery")
                        .values_list("status", "attempt"))
            return real_post(url, **kwargs)

        session.post = post
        return session

    monkeypatch.setattr(outgoing, "_session", watched_session)
    _endpoint(receiver.url)
    [delivery] = _emit()

    _run(delivery)

    assert seen == [(SyncLog.Status.STARTED, 1)]
    assert SyncLog.objects.get().status == SyncLog.Status.SUCCESS


def test_it_does_not_follow_a_redirect(receiver):
    redirecting = RedirectingServer(receiver.url).start()
    try:
        _endpoint(redirecting.base_url + "/old")
        [delivery] = _emit()

        delivery = _run(delivery)
    finally:
        redirecting.stop()

    assert redirecting.hits == 1
    assert receiver.hits == []
    assert delivery.status == Status.FAILED
    assert delivery.last_status_code == 302
    assert "redirects are never followed" in delivery.last_error
    assert delivery.operation.state == State.FAILED


def test_it_retries_with_growing_delays_then_gives_up():
    failing = WebhookReceiver(path="/hook", fail_first=100).start()
    try:
        _endpoint(failing.url, max_retries=2, backoff_multiplier=3)
        with time_machine.travel(T0, tick=False) as traveller:
            [delivery] = _emit()
            waits = []
            for _ in range(3):
                delivery = _run(delivery)
                operation = delivery.operation
                if operation.state == State.DEAD:
                    break
                waits.append((operation.next_attempt_at - datetime.now(UTC)).total_seconds())
                traveller.move_to(operation.next_attempt_at)
    finally:
        failing.stop()

    # 60 s, then 60 x 3; each lengthened by at most 10 % of jitter.
    assert len(waits) == 2
    assert 60 <= waits[0] <= 66
    assert 180 <= waits[1] <= 198
    assert len(failing.hits) == 3
    assert delivery.status == Status.DEAD
    assert delivery.attempts == 3
    assert "gave up after 3 attempts" in delivery.last_error
    assert delivery.operation.state == State.DEAD


def test_it_waits_at_least_what_retry_after_asks(receiver):
    class Busy(LocalServer):
        def _handler_class(self):
            class Handler(BaseHTTPRequestHandler):
                def do_POST(self) -> None:
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    self.send_response(429)
                    self.send_header("Retry-After", "900")
                    self.send_header("Content-Length", "0")
                    self.end_headers()

                def log_message(self, format: str, *args: object) -> None:
                    pass

            return Handler

    busy = Busy().start()
    try:
        _endpoint(busy.base_url + "/hook")
        with time_machine.travel(T0, tick=False):
            [delivery] = _emit()
            delivery = _run(delivery)
            wait = delivery.operation.next_attempt_at - datetime.now(UTC)
    finally:
        busy.stop()

    assert delivery.status == Status.FAILED and delivery.last_status_code == 429
    assert wait >= timedelta(seconds=900)


def test_redelivery_sends_the_same_message_id_again(receiver):
    endpoint = _endpoint(receiver.url)
    [delivery] = _emit()
    _run(delivery)

    delivery = delivery_redeliver(delivery=delivery)
    assert delivery.status == Status.PENDING
    delivery = _run(delivery)

    first, second = receiver.accepted()
    assert first[0]["webhook-id"] == second[0]["webhook-id"] == delivery.message_id
    assert first[1] == second[1]
    for headers, body in (first, second):
        STANDARD_WEBHOOKS.verify(Inbound(body=body, headers=headers), endpoint.secret())
    assert delivery.status == Status.SUCCEEDED
    assert delivery.attempts == 2
    assert WebhookDelivery.objects.count() == 1


def test_a_dead_delivery_is_redelivered_once_the_receiver_is_back():
    flaky = WebhookReceiver(path="/hook", fail_first=1).start()
    try:
        _endpoint(flaky.url, max_retries=0)
        [delivery] = _emit()
        delivery = _run(delivery)
        assert delivery.status == Status.DEAD

        delivery = _run(delivery_redeliver(delivery=delivery))
    finally:
        flaky.stop()

    assert delivery.status == Status.SUCCEEDED
    assert [hit[1]["webhook-id"] for hit in flaky.hits] == [delivery.message_id] * 2
    # The outbox's item about the dead operation is settled with it.
    assert not AttentionItem.objects.open().filter(kind="outbox.dead").exists()


def test_it_disables_an_endpoint_after_consecutive_dead_deliveries():
    failing = WebhookReceiver(path="/hook", fail_first=100).start()
    try:
        endpoint = _endpoint(failing.url, max_retries=0)
        for _ in range(3):
            [delivery] = _emit()
            assert _run(delivery).status == Status.DEAD
        endpoint.refresh_from_db()
        later = _emit()
    finally:
        failing.stop()

    assert not endpoint.is_active
    assert endpoint.consecutive_failures == 3
    assert "3 deliveries in a row failed" in endpoint.disabled_reason
    item = AttentionItem.objects.open().get(kind=ENDPOINT_DISABLED)
    assert item.object_id == str(endpoint.pk) and item.domain == "webhooks"
    assert later == []  # a disabled endpoint gets no new deliveries
    with pytest.raises(ServiceError) as refused:
        delivery_redeliver(delivery=delivery)
    assert refused.value.code == "webhook_endpoint_disabled"


def test_re_enabling_clears_the_attention_item_and_resumes_deliveries(receiver):
    endpoint = _endpoint(receiver.url, max_retries=0)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=2)
    from apps.core.outgoing import _disable_failing

    _disable_failing(endpoint, "3 deliveries in a row failed")
    assert AttentionItem.objects.open().filter(kind=ENDPOINT_DISABLED).exists()

    endpoint = endpoint_enable(endpoint=endpoint)
    [delivery] = _emit()

    assert endpoint.is_active and endpoint.consecutive_failures == 0
    assert not AttentionItem.objects.open().filter(kind=ENDPOINT_DISABLED).exists()
    assert _run(delivery).status == Status.SUCCEEDED


def test_a_delivery_queued_before_the_endpoint_was_disabled_is_not_sent(receiver):
    endpoint = _endpoint(receiver.url)
    [delivery] = _emit()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)

    delivery = _run(delivery)

    assert receiver.hits == []
    assert delivery.status == Status.DEAD
    assert delivery.last_error == "endpoint disabled: not sent"


def test_a_410_gone_disables_the_endpoint_at_once():
    gone = WebhookReceiver(path="/hook", success_status=410).start()
    try:
        endpoint = _endpoint(gone.url, max_retries=5)
        [delivery] = _emit()
        delivery = _run(delivery)
    finally:
        gone.stop()

    endpoint.refresh_from_db()
    assert delivery.status == Status.DEAD
    assert len(gone.hits) == 1
    assert not endpoint.is_active
    assert "410 Gone" in endpoint.disabled_reason


def test_a_success_resets_the_count_of_failures(receiver):
    endpoint = _endpoint(receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=2)
    [delivery] = _emit()

    _run(delivery)

    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0
    assert endpoint.last_success_at is not None
