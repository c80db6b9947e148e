"""The push handlers against MY TUNICLAIM's HTTP answers (`responses`): sent once on
200, retried on the schedule then dead on 5xx, dead at once on a refusal, and the
pushes of one BS in the order they were decided."""

from __future__ import annotations

import json

import pytest
import responses
from django.utils import timezone

from apps.core.connections import client_cache_clear
from apps.core.models import AttentionItem, OutboundOperation
from apps.core.operations import operation_run
from apps.tuniclaim import client as client_module
from apps.tuniclaim.models import BulletinSoin
from apps.tuniclaim.operations import PUSH_RETRY
from apps.tuniclaim.services import PUSH_PAYMENT, PUSH_STATUS, bs_payment_update, bs_status_change
from tests.helpers import sleeps_recorded
from tests.tuniclaim.factories import BulletinSoinFactory

pytestmark = pytest.mark.django_db

State = OutboundOperation.State
Status = BulletinSoin.Status
Payment = BulletinSoin.PaymentStatus
API = "https://tuniclaim.test"


@pytest.fixture(autouse=True)
def platform(settings, monkeypatch):
    """MY TUNICLAIM at a test address; the client's back-off sleeps recorded, not slept."""
    settings.TUNICLAIM_API_URL = API
    settings.TUNICLAIM_API_TOKEN = ""
    yield sleeps_recorded(monkeypatch, client_module)
    client_cache_clear()


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_user("leila.gestionnaire", password="pw")


def url(bulletin: BulletinSoin, what: str) -> str:
    return f"{API}/api/bordereaux/{bulletin.bordereau.external_id}/{what}"


def dead_items(operation: OutboundOperation):
    return AttentionItem.objects.open().filter(kind="outbox.dead", object_id=str(operation.pk))


@responses.activate
def test_a_status_push_is_sent_once_with_its_body_and_done(manager):
    bulletin = BulletinSoinFactory()
    bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)
    [operation] = OutboundOperation.objects.filter(kind=PUSH_STATUS)
    responses.put(url(bulletin, "status"), json={"numBs": bulletin.number, "etat": "VALIDATED",
                                                 "nomAssure": "Mohamed Ben Salah"})

    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED
    [call] = responses.calls
    assert call.request.method == "PUT"
    assert json.loads(call.request.body) == operation.payload["body"]
    # The answer carries the insured's name: it is not kept in the outbox.
    assert "Mohamed" not in json.dumps(operation.result)
    assert operation.result["sent"] == {"newStatus": "VALIDATED"}
    assert not AttentionItem.objects.open().exists()


@responses.activate
def test_a_payment_push_is_sent_with_its_body(manager):
    bulletin = BulletinSoinFactory(status=Status.VALIDATED)
    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED, amount="12.345",
                      user=manager)
    [operation] = OutboundOperation.objects.filter(kind=PUSH_PAYMENT)
    responses.put(url(bulletin, "payment"), json={"numBs": bulletin.number})

    operation = operation_run(operation.pk)

    assert operation.state == State.SUCCEEDED
    sent = json.loads(responses.calls[0].request.body)
    assert sent["amount"] == "12.345"
    assert sent == operation.payload["body"]


@responses.activate
def test_a_5xx_is_retried_on_the_schedule_then_dead_with_an_attention_item(manager, platform):
    bulletin = BulletinSoinFactory()
    bs_status_change(bulletin=bulletin, status=Status.REJECTED, user=manager)
    [operation] = OutboundOperation.objects.filter(kind=PUSH_STATUS)
    responses.put(url(bulletin, "status"), status=500, json={"message": "database down"})

    delays = []
    for _ in PUSH_RETRY.delays:
        before = timezone.now()
        operation = operation_run(operation.pk)
        assert operation.state == State.FAILED
        assert not dead_items(operation).exists()
        delays.append((operation.next_attempt_at - before).total_seconds())
        OutboundOperation.objects.filter(pk=operation.pk).update(next_attempt_at=timezone.now())
    operation = operation_run(operation.pk)

    for delay, expected in zip(delays, PUSH_RETRY.delays, strict=True):
        assert expected <= delay <= expected * (1 + PUSH_RETRY.jitter) + 1
    assert operation.state == State.DEAD
    assert operation.failures == len(PUSH_RETRY.delays) + 1
    # The first run retried within itself (the client's 3 retries) before failing.
    assert len(platform) >= 3
    [item] = dead_items(operation)
    assert item.domain == "tuniclaim"
    assert "gave up" in item.summary


@responses.activate
def test_a_refusal_is_dead_at_once_with_the_platforms_message(manager):
    bulletin = BulletinSoinFactory()
    bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)
    [operation] = OutboundOperation.objects.filter(kind=PUSH_STATUS)
    responses.put(url(bulletin, "status"), status=400,
                  json={"message": "bsId BS-9 is not in this bordereau",
                        "errors": {"bsId": "unknown"}})

    operation = operation_run(operation.pk)

    assert operation.state == State.DEAD
    assert operation.last_status_code == 400
    assert len(responses.calls) == 1
    [item] = dead_items(operation)
    assert "bsId BS-9 is not in this bordereau" in item.summary
    # The local decision stands; the manager sees why the platform did not take it.
    bulletin.refresh_from_db()
    assert bulletin.status == Status.VALIDATED


@responses.activate
def test_the_pushes_of_one_bs_go_in_order_status_then_payment(manager):
    bulletin = BulletinSoinFactory()
    bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)
    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED, user=manager)
    status_push = OutboundOperation.objects.get(kind=PUSH_STATUS)
    payment_push = OutboundOperation.objects.get(kind=PUSH_PAYMENT)
    responses.put(url(bulletin, "status"), json={})
    responses.put(url(bulletin, "payment"), json={})

    # The payment's turn has not come: its status push goes first.
    assert operation_run(payment_push.pk) is None
    assert operation_run(status_push.pk).state == State.SUCCEEDED
    assert operation_run(payment_push.pk).state == State.SUCCEEDED

    assert [call.request.url.rsplit("/", 1)[-1] for call in responses.calls] == [
        "status", "payment"]


@responses.activate
def test_a_dead_status_push_holds_the_payment_back_until_a_manager_acts(manager):
    bulletin = BulletinSoinFactory()
    bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)
    bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED, user=manager)
    status_push = OutboundOperation.objects.get(kind=PUSH_STATUS)
    payment_push = OutboundOperation.objects.get(kind=PUSH_PAYMENT)
    responses.put(url(bulletin, "status"), status=422, json={"message": "refused"})

    assert operation_run(status_push.pk).state == State.DEAD

    assert operation_run(payment_push.pk) is None
    assert [call.request.url.rsplit("/", 1)[-1] for call in responses.calls] == ["status"]
    payment_push.refresh_from_db()
    assert payment_push.state == State.PENDING
