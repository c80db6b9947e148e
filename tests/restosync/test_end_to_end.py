"""End to end: the simulator over real HTTP, its webhooks into the hub's inbox.

The simulator posts its webhooks to a recording receiver; each accepted
delivery is then handed, byte for byte with its headers, to the hub's
webhook URL for the configuration, and the inbox processes it.
"""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

import apps.restosync.webhooks  # noqa: F401 - registers the channel and the processor
from apps.core.models import SyncLog, WebhookEvent
from apps.core.sync import mapping_upsert
from apps.core.webhooks import webhooks_process_waiting
from apps.restosync import services
from apps.restosync.models import ENTITY_ROOM, ENTITY_TABLE, Reservation
from apps.restosync.simulator import SANDBOX_RESTAURANT_UID
from tests.restosync.factories import (
    WEBHOOK_SECRET,
    DiningRoomFactory,
    DiningTableFactory,
    make_config,
)
from tests.restosync.helpers import guest_books, mapped_reservation, push, sim_bookings

pytestmark = pytest.mark.django_db


class Hub:
    """The simulator, the receiver standing in for the hub's address, and the forwarding."""

    def __init__(self, client, platform_config, sim, receiver) -> None:
        self.client, self.config, self.sim = client, platform_config, sim
        self.receiver = receiver
        self.forwarded = 0

    def forward(self, count: int) -> list[int]:
        """Wait for `count` more deliveries, hand them to the hub, process them."""
        deliveries = self.receiver.wait_for_count(self.forwarded + count)[self.forwarded:]
        self.forwarded += len(deliveries)
        url = reverse("webhook-channel", kwargs={"platform": "zenchef",
                                                 "connection_id": self.config.connection_id})
        answers = []
        for headers, body in deliveries:
            answers.append(self.client.post(
                url, data=body, content_type="application/json",
                headers={"X-Zenchef-Signature": headers["x-zenchef-signature"],
                         "X-Zenchef-Event-Id": headers["x-zenchef-event-id"]}).status_code)
        webhooks_process_waiting()
        return answers

    def webhooks(self, **options) -> None:
        response = requests.post(f"{self.sim.base_url}/_sim/webhooks", json={
            "restaurant_uid": SANDBOX_RESTAURANT_UID, "url": self.receiver.url,
            "secret": WEBHOOK_SECRET, **options}, timeout=5)
        assert response.status_code == 200, response.text


@pytest.fixture
def hub(client, zenchef_simulator, webhook_receiver, sleeps):
    sim = zenchef_simulator()
    hub = Hub(client, make_config(), sim, webhook_receiver())
    hub.webhooks()
    return hub


def test_a_platform_booking_appears_here_with_its_room_and_tables(hub):
    restaurant = hub.config.restaurant
    room = DiningRoomFactory(restaurant=restaurant)
    table = DiningTableFactory(restaurant=restaurant, room=room)
    mapping_upsert(entity_type=ENTITY_ROOM, local_id=room.pk,
                   connection=hub.config.connection, external_id="1")
    mapping_upsert(entity_type=ENTITY_TABLE, local_id=table.pk,
                   connection=hub.config.connection, external_id="13")

    made = guest_books(hub.sim)
    assert hub.forward(1) == [202]

    reservation = mapped_reservation(hub.config, made["uid"])
    assert reservation.dining_room == room
    assert list(reservation.tables.all()) == [table]
    assert reservation.party_size == 3


def test_changes_and_cancels_travel_both_ways(hub):
    made = guest_books(hub.sim)
    hub.forward(1)
    reservation = mapped_reservation(hub.config, made["uid"])

    # Here -> Zenchef: a partial update of the same booking.
    reservation = services.reservation_update(reservation=reservation, party_size=4)
    [operation] = push(reservation)
    assert operation.result["action"] == "update"
    assert sim_bookings(hub.sim)[0]["numberOfPeople"] == 4

    # Zenchef -> here: the guest cancels.
    requests.delete(f"{hub.sim.base_url}/_sim/bookings/{made['uid']}", timeout=5)
    hub.forward(1)
    assert mapped_reservation(hub.config, made["uid"]).status == Reservation.Status.CANCELLED


def test_a_cancel_here_cancels_there(hub):
    made = guest_books(hub.sim)
    hub.forward(1)
    reservation = services.reservation_update(
        reservation=mapped_reservation(hub.config, made["uid"]),
        status=Reservation.Status.CANCELLED)

    push(reservation)

    assert sim_bookings(hub.sim)[0]["status"] == "CANCELLED"


def test_a_seated_reservation_ignores_a_late_platform_cancel(hub):
    made = guest_books(hub.sim)
    hub.forward(1)
    reservation = services.reservation_update(
        reservation=mapped_reservation(hub.config, made["uid"]),
        status=Reservation.Status.SEATED)
    [operation] = push(reservation)
    assert operation.result["action"].endswith("check_in")

    requests.delete(f"{hub.sim.base_url}/_sim/bookings/{made['uid']}", timeout=5)
    hub.forward(1)

    assert mapped_reservation(hub.config, made["uid"]).status == Reservation.Status.SEATED


def test_duplicate_and_reordered_deliveries_are_applied_once_in_order(hub):
    hub.webhooks(duplicate=True, hold=True)
    made = guest_books(hub.sim)
    requests.patch(f"{hub.sim.base_url}/_sim/bookings/{made['uid']}",
                   json={"numberOfPeople": 6}, timeout=5)
    requests.post(f"{hub.sim.base_url}/_sim/webhooks/release",
                  json={"restaurant_uid": SANDBOX_RESTAURANT_UID, "order": "reverse"},
                  timeout=5)

    answers = hub.forward(4)

    assert sorted(answers) == [200, 200, 202, 202]
    reservation = mapped_reservation(hub.config, made["uid"])
    # The change arrived first (an import at 6); the older creation after it is skipped.
    assert (reservation.party_size, reservation.version) == (6, 1)
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.DUPLICATE).count() == 2


def test_a_change_from_the_platform_is_not_sent_back(hub):
    made = guest_books(hub.sim)
    hub.forward(1)
    requests.patch(f"{hub.sim.base_url}/_sim/bookings/{made['uid']}",
                   json={"numberOfPeople": 5}, timeout=5)
    hub.forward(1)
    reservation = mapped_reservation(hub.config, made["uid"])
    assert reservation.party_size == 5

    # The push a change triggers, whoever made it: the platform has it already.
    [operation] = push(reservation)

    assert operation.result["action"] == "update"
    assert not SyncLog.objects.filter(action__in=["zenchef.booking.update",
                                                  "zenchef.booking.create"]).exists()


def test_a_thin_event_is_completed_by_reading_the_booking(hub):
    hub.webhooks(payload="thin")
    made = guest_books(hub.sim)

    assert hub.forward(1) == [202]

    assert mapped_reservation(hub.config, made["uid"]).party_size == 3
    assert SyncLog.objects.filter(action="zenchef.booking.get").exists()
