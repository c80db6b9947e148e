"""A local status change and a payment reach the MY TUNICLAIM simulator over real
HTTP, once each and in order; a push delivered twice is a repeat there, not a
second change."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from apps.core.connections import client_cache_clear
from apps.core.models import OutboundOperation
from apps.core.simulator import serve
from apps.tuniclaim.client import tuniclaim_client
from apps.tuniclaim.models import BulletinSoin
from apps.tuniclaim.operations import bs_status_send
from apps.tuniclaim.services import PUSH_STATUS, bs_payment_update, bs_status_change
from apps.tuniclaim.simulator import build
from tests.tuniclaim.factories import BordereauFactory, BulletinSoinFactory, ClientFactory

pytestmark = pytest.mark.django_db

Status = BulletinSoin.Status
Payment = BulletinSoin.PaymentStatus
State = OutboundOperation.State


@pytest.fixture
def simulator(settings) -> Iterator[str]:
    settings.TUNICLAIM_API_TOKEN = ""
    server = serve(build())
    settings.TUNICLAIM_API_URL = server.url
    client_cache_clear()
    yield server.url
    client_cache_clear()
    server.stop()


@pytest.fixture
def bulletin(simulator) -> BulletinSoin:
    """One of the simulator's claims, as an import would have stored it."""
    client = tuniclaim_client()
    record = client.bordereaux_page(page=1, page_size=1, updated_since=None).items[0]
    claim = client.bulletins(bordereau_external_id=str(record["id"]))[0]
    bordereau = BordereauFactory(external_id=str(record["id"]), reference=record["reference"],
                                 client=ClientFactory(code=record["client"]["code"]))
    return BulletinSoinFactory(bordereau=bordereau, number=str(claim["numBs"]),
                               amount_covered=Decimal("100000.000"))


def pushes(base_url: str, **query) -> list[dict]:
    answer = requests.get(f"{base_url}/_sim/pushes", params=query, timeout=5)
    answer.raise_for_status()
    return answer.json()["pushes"]


def test_a_status_change_and_a_payment_reach_the_platform_once_each_in_order(
        simulator, bulletin, django_user_model, django_capture_on_commit_callbacks):
    manager = django_user_model.objects.create_user("leila.gestionnaire", password="pw")

    # Each service commits its change and its push; the push runs after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        bs_status_change(bulletin=bulletin, status=Status.VALIDATED, user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        bs_payment_update(bulletin=bulletin, payment_status=Payment.NOT_EXECUTED,
                          amount="150.500", transfer_reference="VIR-2026-0042", user=manager)

    assert set(OutboundOperation.objects.values_list("state", flat=True)) == {State.SUCCEEDED}
    received = pushes(simulator, bsId=bulletin.number)
    assert [(push["kind"], push["outcome"]) for push in received] == [
        ("status", "applied"), ("payment", "applied")]
    assert received[0]["body"]["newStatus"] == "VALIDATED"
    assert received[0]["body"]["bordereauId"] == bulletin.bordereau.reference
    assert received[1]["body"]["amount"] == "150.500"
    claim = next(c for c in tuniclaim_client().bulletins(
        bordereau_external_id=bulletin.bordereau.external_id)
        if str(c["numBs"]) == bulletin.number)
    assert claim["etat"] == "VALIDATED"


def test_a_push_sent_again_is_a_repeat_not_a_second_change(
        simulator, bulletin, django_user_model, django_capture_on_commit_callbacks):
    manager = django_user_model.objects.create_user("leila.gestionnaire", password="pw")
    with django_capture_on_commit_callbacks(execute=True):
        bs_status_change(bulletin=bulletin, status=Status.ON_HOLD, user=manager)
    operation = OutboundOperation.objects.get(kind=PUSH_STATUS)

    # What a worker does after an unknown outcome: the same request again.
    bs_status_send(operation, reconcile=True)

    assert [push["outcome"] for push in pushes(simulator, bsId=bulletin.number)] == [
        "applied", "repeat"]
