"""The object actions of the RestoSync admin: "Poll now" on a platform configuration,
"Retry now" on a reservation's failed pushes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.models import OutboundOperation, SyncRun
from apps.restosync.models import Reservation, SyncPlatformConfig
from apps.restosync.operations import reservation_push
from apps.restosync.polling import POLL_KIND
from tests.factories import view_only_user
from tests.restosync.factories import make_config, make_reservation

pytestmark = pytest.mark.django_db
State = OutboundOperation.State


def _page(client, obj) -> str:
    opts = obj._meta
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                  args=[obj.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _action_url(name: str, obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_action_{name}", args=[obj.pk])


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def dead_push() -> OutboundOperation:
    reservation = make_reservation(make_config().restaurant)
    [operation] = reservation_push(reservation=reservation)
    OutboundOperation.objects.filter(pk=operation.pk).update(state=State.DEAD, failures=6)
    return operation


# -- poll now ----------------------------------------------------------------------------

def test_it_polls_from_the_configuration_page(manager_client, manager_user,
                                              django_capture_on_commit_callbacks):
    config = make_config()

    page = _page(manager_client, config)
    with django_capture_on_commit_callbacks() as callbacks:
        response = manager_client.post(_action_url("poll_now", config), follow=True)

    assert f'action="{_action_url("poll_now", config)}"' in page
    run = SyncRun.objects.get(kind=POLL_KIND, connection=config.connection)
    assert (run.trigger, run.triggered_by) == (SyncRun.Trigger.MANUAL, manager_user)
    assert any(f"(run {run.pk})" in message for message in _messages(response))
    assert len(callbacks) == 1


def test_an_inactive_configuration_is_not_polled(manager_client):
    config = make_config(is_active=False)

    page = _page(manager_client, config)
    response = manager_client.post(_action_url("poll_now", config), follow=True)

    assert "activate it before polling" in page
    assert any("activate it before polling" in message for message in _messages(response))
    assert not SyncRun.objects.exists()


# -- retry now -----------------------------------------------------------------------------

def test_it_retries_a_dead_push_from_the_reservation_page(manager_client, dead_push):
    reservation = Reservation.objects.get(pk=dead_push.payload["reservation_id"])

    page = _page(manager_client, reservation)
    response = manager_client.post(_action_url("retry_pushes", reservation), follow=True)

    assert f'action="{_action_url("retry_pushes", reservation)}"' in page
    assert any("1 failed push is sent again now" in message
               for message in _messages(response))
    dead_push.refresh_from_db()
    assert (dead_push.state, dead_push.failures) == (State.FAILED, 0)


def test_it_says_when_a_reservation_has_nothing_to_retry(manager_client):
    reservation = make_reservation(make_config().restaurant)
    # Waiting for its first run: not a failure to retry.
    [waiting] = reservation_push(reservation=reservation)

    page = _page(manager_client, reservation)
    response = manager_client.post(_action_url("retry_pushes", reservation), follow=True)

    assert "Nothing to retry" in page
    assert any("Nothing to retry" in message for message in _messages(response))
    waiting.refresh_from_db()
    assert waiting.state == State.PENDING


def test_the_actions_are_refused_to_a_user_who_may_only_look(client, dead_push):
    client.force_login(view_only_user(Reservation, SyncPlatformConfig))
    reservation = Reservation.objects.get(pk=dead_push.payload["reservation_id"])
    config = SyncPlatformConfig.objects.get()

    # Both object pages open (a view-only reservation page once crashed its form).
    pages = [_page(client, config), _page(client, reservation)]
    responses = [client.post(_action_url("retry_pushes", reservation)),
                 client.post(_action_url("poll_now", config))]

    assert all("/actions/" not in page for page in pages)
    assert [response.status_code for response in responses] == [403, 403]
    dead_push.refresh_from_db()
    assert dead_push.state == State.DEAD
    assert not SyncRun.objects.exists()
