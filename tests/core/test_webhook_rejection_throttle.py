"""Deliveries with an invalid signature are counted per source address; past
the limit they are answered 429 with Retry-After and not stored. Signed
deliveries are never counted nor throttled, and cost no more than before."""

from __future__ import annotations

import logging
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import webhooks
from apps.core.models import WebhookEvent
from apps.core.store import LocalStore
from tests.core import webhook_source
from tests.core.webhook_source import body_for, sign

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls"),
              pytest.mark.usefixtures("forget_processed")]
Status = WebhookEvent.Status
URL = "/webhooks/testhook/"
FORGER = "203.0.113.7"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.WEBHOOK_REJECTED_PER_ADDRESS_LIMIT = 3
    settings.WEBHOOK_REJECTED_PER_ADDRESS_WINDOW_SECONDS = 60


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def post(body: bytes, *, signature: str, address: str = FORGER):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, data=body, content_type="application/json",
                               headers={"X-Testhook-Signature": signature},
                               REMOTE_ADDR=address)

    return post


def _forge(post, address: str = FORGER):
    body = body_for("evt-forged")
    return post(body, signature=sign(body, secret="guessed"), address=address)


def test_it_answers_429_past_the_limit_and_stores_nothing_more(post):
    assert [_forge(post).status_code for _ in range(3)] == [401, 401, 401]

    response = _forge(post)

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert WebhookEvent.objects.filter(status=Status.REJECTED).count() == 3


def test_it_never_throttles_a_signed_delivery_from_a_throttled_address(post):
    for _ in range(4):
        _forge(post)
    valid = body_for("evt-1")
    stale = body_for("evt-2", timestamp=int(time.time()) - 3600)

    assert post(valid, signature=sign(valid)).status_code == 202
    assert post(stale, signature=sign(stale)).status_code == 401

    assert WebhookEvent.objects.filter(status=Status.PROCESSED).count() == 1
    assert WebhookEvent.objects.filter(status=Status.REJECTED, signature_valid=True).count() == 1
    assert [event_id for event_id, _ in webhook_source.processed] == ["evt-1"]


def test_it_does_not_count_deliveries_whose_signature_is_valid(post):
    for n in range(5):
        stale = body_for(f"evt-{n}", timestamp=int(time.time()) - 3600)
        assert post(stale, signature=sign(stale)).status_code == 401

    assert [_forge(post).status_code for _ in range(4)] == [401, 401, 401, 429]


def test_it_counts_each_address_apart(post):
    for _ in range(4):
        _forge(post, address="203.0.113.7")

    assert _forge(post, address="203.0.113.8").status_code == 401


def test_it_counts_an_ipv6_sender_by_its_64_prefix(post):
    for host in range(1, 4):
        assert _forge(post, address=f"2001:db8:0:1::{host}").status_code == 401

    assert _forge(post, address="2001:db8:0:1:ffff::9").status_code == 429
    assert _forge(post, address="2001:db8:0:2::1").status_code == 401


def test_it_stores_rejected_deliveries_again_once_the_window_has_passed(
        post, monkeypatch, clock):
    store = LocalStore(clock=clock)
    monkeypatch.setattr(webhooks, "shared_store", lambda: store)
    for _ in range(3):
        _forge(post)
    assert _forge(post).headers["Retry-After"] == "60"

    clock.advance(61)

    assert _forge(post).status_code == 401
    assert WebhookEvent.objects.count() == 4


def test_it_logs_a_throttled_address_once_rather_than_every_delivery(post, caplog):
    for _ in range(3):
        _forge(post)

    with caplog.at_level(logging.WARNING, logger="apps.core.webhooks"):
        statuses = [_forge(post).status_code for _ in range(5)]

    assert statuses == [429] * 5
    throttled = [r for r in caplog.records if FORGER in r.getMessage()]
    assert len(throttled) == 1
    assert "429" in throttled[0].getMessage()


def test_it_keeps_a_signed_delivery_to_one_insert_and_away_from_the_shared_store(
        client, monkeypatch, django_capture_on_commit_callbacks):
    def unreachable():
        raise AssertionError("the shared store is not for signed deliveries")

    monkeypatch.setattr(webhooks, "shared_store", unreachable)
    body = body_for("evt-1")

    with CaptureQueriesContext(connection) as queries, \
            django_capture_on_commit_callbacks(execute=False):
        response = client.post(URL, data=body, content_type="application/json",
                               headers={"X-Testhook-Signature": sign(body)})

    assert response.status_code == 202
    statements = [q["sql"] for q in queries.captured_queries
                  if "SAVEPOINT" not in q["sql"].upper()]
    assert len(statements) == 1
    assert statements[0].upper().startswith("INSERT")
