"""The Zenchef connector end to end, over real HTTP against the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from apps.core.channels import Inbound
from apps.core.connections import client_cache_clear, connection_create
from apps.core.http import OutcomeUnknownError
from apps.core.models import Credentials
from apps.restosync.connectors import get_connector
from apps.restosync.simulator import SANDBOX_API_KEY, SANDBOX_RESTAURANT_UID
from apps.restosync.types import (
    ConnectorConfig,
    CustomerData,
    EventKind,
    ReservationData,
    ReservationStatus,
)

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "whsec-simulated"


@pytest.fixture
def connector_for(db):
    client_cache_clear()
    connection = connection_create(platform="zenchef", name="Sandbox Bistro",
                                   credentials=Credentials(api_key=SANDBOX_API_KEY))

    def make(**options):
        return get_connector(ConnectorConfig(platform="zenchef",
                                             restaurant_uid=SANDBOX_RESTAURANT_UID,
                                             connection=connection, options=options))
    yield make
    client_cache_clear()


def _next_evening() -> datetime:
    # A week ahead, 19:30 in Brussels (18:30 UTC in winter, 17:30 in summer: either is open).
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=UTC)


def _data(**overrides) -> ReservationData:
    values = {"reference": "res-42", "party_size": 2, "start": _next_evening(),
              "status": ReservationStatus.CONFIRMED,
              "customer": CustomerData(name="Jan Jansen", phone="+32470123456",
                                       email="jan@example.com", allergies=("nuts",))}
    values.update(overrides)
    return ReservationData(**values)


def _sim_bookings(sim) -> list[dict]:
    return requests.get(f"{sim.base_url}/_sim/bookings", timeout=5).json()


def test_a_reservations_life_on_zenchef(zenchef_simulator, connector_for):
    sim = zenchef_simulator()
    connector = connector_for()

    connector.authenticate()
    created = connector.create_reservation(_data())
    uid = created.external_id
    assert created.reservation.reference == "res-42"
    assert created.reservation.customer.allergies == ("nuts",)

    updated = connector.update_reservation(uid, _data(party_size=3), previous=_data())
    assert updated.reservation.party_size == 3

    assert connector.check_in(uid).status == ReservationStatus.SEATED
    # Asked again (a redelivered operation), the toggle is left alone.
    assert connector.check_in(uid, reconcile=True).status == ReservationStatus.SEATED
    assert connector.check_out(uid).status == ReservationStatus.COMPLETED
    assert connector.check_out(uid, reconcile=True).status == ReservationStatus.COMPLETED
    assert sim.endpoint_requests["PUT " + "/api/v1.2/{restaurantUid}/booking/checkin/{uid}"] \
        == 1

    listed = connector.list_changed()
    assert [r.external_id for r in listed.reservations] == [uid]
    tables = {t.external_id for t in connector.list_tables()}
    assert set(created.reservation.table_external_ids) <= tables
    assert {a.external_id for a in connector.list_areas()} == {"1", "2"}


def test_a_cancel_reaches_zenchef(zenchef_simulator, connector_for):
    zenchef_simulator()
    connector = connector_for()
    uid = connector.create_reservation(_data()).external_id

    connector.cancel_reservation(uid)
    connector.cancel_reservation(uid)  # a resend is harmless

    assert connector.get_reservation(uid).status == ReservationStatus.CANCELLED


def test_a_timeout_after_create_never_leaves_two_bookings(zenchef_simulator, connector_for,
                                                          settings):
    sim = zenchef_simulator(timeout_after_create=1, timeout_after_create_seconds=3)
    settings.ZENCHEF_READ_TIMEOUT_SECONDS = 0.5
    connector = connector_for()

    with pytest.raises(OutcomeUnknownError):
        connector.create_reservation(_data())
    result = connector.create_reservation(_data(), reconcile=True)

    assert result.existed
    bookings = _sim_bookings(sim)
    assert [b["uid"] for b in bookings] == [result.external_id]


def test_availability_comes_back_as_slots(zenchef_simulator, connector_for):
    zenchef_simulator()

    slots = connector_for().get_availability(day=_next_evening().date(), party_size=2)

    assert any(slot.bookable for slot in slots)
    assert all(slot.start.tzinfo is not None for slot in slots)


def test_the_simulators_webhook_is_read_and_verified_with_the_defaults(
        zenchef_simulator, connector_for, webhook_receiver):
    receiver = webhook_receiver()
    sim = zenchef_simulator(webhooks={SANDBOX_RESTAURANT_UID: {
        "url": receiver.url, "secret": WEBHOOK_SECRET}})
    connector = connector_for()

    guest = requests.post(f"{sim.base_url}/_sim/bookings", timeout=5, json={
        "bookingDateTime": _next_evening().isoformat(), "numberOfPeople": 2,
        "firstName": "Ann", "lastName": "Peeters"}).json()
    ((received, body),) = receiver.wait_for_count(1)
    # The inbox reads headers case-insensitively, as HTTP has them.
    headers = CaseInsensitiveDict(received)

    verified = connector.webhook_format.verifier().verify(Inbound(body=body, headers=headers),
                                                          WEBHOOK_SECRET)
    event = connector.parse_webhook(headers=headers, payload=json.loads(verified.content))
    assert event.kind == EventKind.CREATED
    assert event.external_id == guest["uid"]
    assert event.event_id
    assert event.reservation.customer.name == "Ann Peeters"
    assert event.reservation.reference is None  # a guest's booking, not one of ours
