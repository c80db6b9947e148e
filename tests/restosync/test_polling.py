"""The polling fallback: bookings the webhooks missed, read from the simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from apps.core.connections import client_cache_clear
from apps.core.models import SyncRun
from apps.restosync import tasks
from apps.restosync.models import Reservation
from apps.restosync.polling import (
    POLL_KIND,
    config_poll,
    config_poll_request,
    configs_due_poll,
)
from tests.restosync.factories import make_config
from tests.restosync.helpers import guest_books

pytestmark = pytest.mark.django_db


def test_the_poll_catches_a_booking_whose_webhook_was_missed(sim, config):
    made = guest_books(sim)

    run = config_poll(config=config)

    assert run.status == SyncRun.Status.SUCCESS
    assert run.created == 1
    reservation = Reservation.objects.get()
    assert reservation.party_size == 3
    assert reservation.customer.name == "Eva Claes"
    config.refresh_from_db()
    assert config.last_sync_at is not None and not config.last_error
    assert made["uid"]


def test_a_second_poll_changes_nothing_and_a_change_is_applied(sim, config):
    made = guest_books(sim)
    config_poll(config=config)

    assert config_poll(config=config).unchanged == 1
    requests.patch(f"{sim.base_url}/_sim/bookings/{made['uid']}",
                   json={"numberOfPeople": 5}, timeout=5)
    run = config_poll(config=config)

    assert run.updated == 1
    reservation = Reservation.objects.get()
    assert (reservation.party_size, reservation.version) == (5, 2)


def test_a_poll_that_cannot_reach_the_platform_records_the_error(config, settings):
    settings.ZENCHEF_API_URL = "http://127.0.0.1:9"
    client_cache_clear()

    run = config_poll(config=config)

    assert run.status == SyncRun.Status.ERROR
    config.refresh_from_db()
    assert config.last_error


def test_configs_are_due_at_their_own_interval(sim):
    fast = make_config(poll_interval_sec=60)
    slow = make_config(poll_interval_sec=3600)
    make_config(is_active=False)
    for config in (fast, slow):
        SyncRun.objects.create(kind=POLL_KIND, connection=config.connection,
                               status=SyncRun.Status.SUCCESS,
                               started_at=timezone.now() - timedelta(minutes=5))

    assert list(configs_due_poll()) == [fast]
    assert set(configs_due_poll(now=timezone.now() + timedelta(hours=1))) == {fast, slow}


def test_the_beat_task_polls_the_due_configs(sim, config):
    guest_books(sim)

    assert tasks.poll_due() == 1

    assert Reservation.objects.count() == 1
    assert SyncRun.objects.get(kind=POLL_KIND).status == SyncRun.Status.SUCCESS
    assert tasks.poll_due() == 0


def test_poll_now_answers_its_run_at_once_and_a_worker_fills_it(
        sim, config, django_capture_on_commit_callbacks):
    guest_books(sim)

    with django_capture_on_commit_callbacks(execute=True):
        run = config_poll_request(config=config)
        assert run.status == SyncRun.Status.RUNNING
        assert run.trigger == SyncRun.Trigger.MANUAL
        # A second click while it runs gets the same run back.
        assert config_poll_request(config=config) == run

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCESS
    assert run.created == 1
    assert SyncRun.objects.count() == 1
