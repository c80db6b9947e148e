"""A reservation changed here is queued for its platforms; one a platform sent
is queued for the other platforms only."""

from __future__ import annotations

import pytest

from apps.core.models import OutboundOperation
from apps.restosync import services
from apps.restosync.operations import PUSH_RESERVATION
from tests.restosync.factories import make_reservation
from tests.restosync.helpers import booking, deliver

pytestmark = pytest.mark.django_db


def pushed_connections() -> list[int]:
    return list(OutboundOperation.objects.filter(kind=PUSH_RESERVATION)
                .exclude(state=OutboundOperation.State.SUPERSEDED)
                .values_list("connection_id", flat=True))


def test_creating_and_changing_a_reservation_queues_its_push(config):
    reservation = make_reservation(restaurant=config.restaurant)
    created = pushed_connections()

    services.reservation_update(reservation=reservation, party_size=3)

    assert created == [config.connection_id]
    assert OutboundOperation.objects.filter(
        kind=PUSH_RESERVATION, payload__version=2,
        state=OutboundOperation.State.PENDING).count() == 1


def test_a_booking_from_the_platform_is_not_sent_back_to_it(client, config):
    deliver(client, config, booking())

    assert pushed_connections() == []
