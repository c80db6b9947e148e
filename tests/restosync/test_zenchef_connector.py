"""The Zenchef connector over the core client, HTTP mocked with `responses`:
each operation's request, error mapping, the look-up before a retried
create, and toggles never doubled."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import requests
import responses
import time_machine

from apps.core.connections import client_cache_clear, connection_create
from apps.core.http import OutcomeUnknownError, PermanentError
from apps.core.models import Connection, Credentials, OutboundOperation, SyncLog
from apps.restosync.connectors import get_connector
from apps.restosync.connectors.base import ToggleStateUnknown
from apps.restosync.connectors.zenchef.client import BookingNotFound
from apps.restosync.connectors.zenchef.connector import ZenchefConnector
from apps.restosync.types import AuditScope, ConnectorConfig, ReservationStatus
from tests.restosync.samples import booking_body, reservation_data

pytestmark = pytest.mark.django_db

BASE = "https://zenchef.test"
UID = "91edfa29"
API = f"{BASE}/api/v1.2/{UID}"
KEY = "zk-secret-123"


@pytest.fixture
def connection():
    client_cache_clear()
    yield connection_create(platform="zenchef", name="Bistro",
                            credentials=Credentials(api_key=KEY))
    client_cache_clear()


@pytest.fixture
def make_connector(connection):
    def make(**options) -> ZenchefConnector:
        connector = get_connector(ConnectorConfig(platform="zenchef", restaurant_uid=UID,
                                                  connection=connection, base_url=BASE,
                                                  options=options))
        # Backoff between retries is the core's business, not worth waiting for here.
        connector.client.http.sleep = lambda seconds: None
        return connector
    return make


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _body(call) -> dict:
    return json.loads(call.request.body)


# -- requests ---------------------------------------------------------------------------

def test_it_creates_a_booking_with_our_reference(make_connector, mocked):
    mocked.post(f"{API}/booking", json=booking_body(), status=200)

    result = make_connector().create_reservation(reservation_data())

    assert result.external_id == "bk-1"
    assert not result.existed
    assert result.reservation.status == ReservationStatus.CONFIRMED
    (call,) = mocked.calls
    assert call.request.headers["ApiKey"] == KEY
    body = _body(call)
    assert body["externalReferenceId"] == "res-1"
    assert body["bookingDateTime"] == "2026-12-10T19:30:00+01:00"
    assert body["numberOfPeople"] == 4
    assert body["tables"] == [12]


def test_a_retried_create_finds_the_booking_instead_of_making_a_second(make_connector, mocked):
    mocked.get(f"{API}/booking/external/workforce-hub/res-1", json=booking_body())
    create = mocked.post(f"{API}/booking", json=booking_body())

    result = make_connector().create_reservation(reservation_data(), reconcile=True)

    assert result.existed
    assert result.external_id == "bk-1"
    assert create.call_count == 0


def test_a_retried_create_creates_when_the_look_up_finds_nothing(make_connector, mocked):
    lookup = mocked.get(f"{API}/booking/external/pos-app/res-1", status=404)
    create = mocked.post(f"{API}/booking", json=booking_body(source="pos-app"))

    result = make_connector(external_source="pos-app").create_reservation(
        reservation_data(), reconcile=True)

    assert not result.existed
    assert (lookup.call_count, create.call_count) == (1, 1)


def test_a_timeout_after_create_is_unknown_and_the_retry_never_creates_twice(
        make_connector, mocked):
    create = mocked.post(f"{API}/booking", body=requests.exceptions.ReadTimeout("read timed out"))
    connector = make_connector()

    with pytest.raises(OutcomeUnknownError):
        connector.create_reservation(reservation_data())
    # The create may have reached Zenchef: never resent by the client.
    assert create.call_count == 1

    mocked.get(f"{API}/booking/external/workforce-hub/res-1", json=booking_body())
    result = connector.create_reservation(reservation_data(), reconcile=True)

    assert result.existed
    assert create.call_count == 1


def test_it_logs_a_source_that_differs_from_the_look_ups(make_connector, mocked, caplog):
    mocked.post(f"{API}/booking", json=booking_body(source="formitable-app-42"))

    make_connector().create_reservation(reservation_data())

    assert "formitable-app-42" in caplog.text


def test_an_update_is_a_partial_put_of_the_changes(make_connector, mocked):
    put = mocked.put(f"{API}/booking/bk-1",
                     json={**booking_body(numberOfPeople=6), "warnings": ["Table 12 overlaps"]})

    result = make_connector().update_reservation(
        "bk-1", reservation_data(party_size=6), previous=reservation_data())

    assert put.call_count == 1
    assert _body(mocked.calls[0]) == {"numberOfPeople": 6}
    assert result.reservation.party_size == 6
    assert result.warnings == ("Table 12 overlaps",)


def test_an_update_without_changes_sends_nothing(make_connector, mocked):
    result = make_connector().update_reservation("bk-1", reservation_data(),
                                                 previous=reservation_data())

    assert len(mocked.calls) == 0
    assert result.reservation is None


def test_a_cancel_is_a_delete(make_connector, mocked):
    delete = mocked.delete(f"{API}/booking/bk-1", body="")

    make_connector().cancel_reservation("bk-1")

    assert delete.call_count == 1


def test_cancelling_an_already_cancelled_booking_is_done(make_connector, mocked):
    mocked.delete(f"{API}/booking/bk-1", status=400, json={"message": "Already cancelled"})
    mocked.get(f"{API}/booking/bk-1", json=booking_body(status="CANCELLED"))

    make_connector().cancel_reservation("bk-1")


def test_a_refused_cancel_of_a_standing_booking_is_an_error(make_connector, mocked):
    mocked.delete(f"{API}/booking/bk-1", status=400, json={"message": "Too late to cancel"})
    mocked.get(f"{API}/booking/bk-1", json=booking_body())

    with pytest.raises(PermanentError, match="Too late to cancel"):
        make_connector().cancel_reservation("bk-1")


def test_it_checks_in_once(make_connector, mocked):
    mocked.get(f"{API}/booking/bk-1", json=booking_body())
    toggle = mocked.put(f"{API}/booking/checkin/bk-1",
                        json=booking_body(checkInDateTime="2026-12-10T19:35:00+01:00"))

    seated = make_connector().check_in("bk-1")

    assert toggle.call_count == 1
    assert seated.status == ReservationStatus.SEATED


def test_a_checked_in_booking_is_not_toggled_again(make_connector, mocked):
    mocked.get(f"{API}/booking/bk-1",
               json=booking_body(checkInDateTime="2026-12-10T19:35:00+01:00"))
    toggle = mocked.put(f"{API}/booking/checkin/bk-1", json=booking_body())

    make_connector().check_in("bk-1")
    make_connector().check_in("bk-1", reconcile=True)

    assert toggle.call_count == 0


def test_a_toggle_that_fails_mid_way_is_never_resent(make_connector, mocked):
    mocked.get(f"{API}/booking/bk-1", json=booking_body())
    toggle = mocked.put(f"{API}/booking/checkin/bk-1", status=502)

    with pytest.raises(OutcomeUnknownError):
        make_connector().check_in("bk-1")

    assert toggle.call_count == 1


def test_a_toggle_that_undid_someone_elses_is_reported(make_connector, mocked):
    mocked.get(f"{API}/booking/bk-1", json=booking_body())
    mocked.put(f"{API}/booking/checkin/bk-1", json=booking_body(checkInDateTime=None))

    with pytest.raises(ToggleStateUnknown):
        make_connector().check_in("bk-1")


def test_it_checks_out_a_seated_booking_once(make_connector, mocked):
    mocked.get(f"{API}/booking/bk-1",
               json=booking_body(checkInDateTime="2026-12-10T19:35:00+01:00"))
    check_in = mocked.put(f"{API}/booking/checkin/bk-1", json=booking_body())
    check_out = mocked.put(f"{API}/booking/checkout/bk-1", json=booking_body(
        checkInDateTime="2026-12-10T19:35:00+01:00",
        checkOutDateTime="2026-12-10T21:40:00+01:00"))

    done = make_connector().check_out("bk-1")

    assert (check_in.call_count, check_out.call_count) == (0, 1)
    assert done.status == ReservationStatus.COMPLETED


def test_a_checked_out_booking_is_not_toggled_again(make_connector, mocked):
    mocked.get(f"{API}/booking/bk-1", json=booking_body(
        checkInDateTime="2026-12-10T19:35:00+01:00",
        checkOutDateTime="2026-12-10T21:40:00+01:00"))
    check_out = mocked.put(f"{API}/booking/checkout/bk-1", json=booking_body())

    make_connector().check_out("bk-1", reconcile=True)

    assert check_out.call_count == 0


def test_an_unreadable_check_out_state_is_not_guessed_on_a_retry(make_connector, mocked):
    # The documented model has no checkOutDateTime at all.
    body = booking_body(checkInDateTime="2026-12-10T19:35:00+01:00")
    del body["checkOutDateTime"]
    mocked.get(f"{API}/booking/bk-1", json=body)
    check_out = mocked.put(f"{API}/booking/checkout/bk-1", json=body)

    with pytest.raises(ToggleStateUnknown):
        make_connector().check_out("bk-1", reconcile=True)
    assert check_out.call_count == 0

    make_connector().check_out("bk-1")
    assert check_out.call_count == 1


@time_machine.travel(datetime(2026, 12, 2, 23, 30, tzinfo=UTC), tick=False)
def test_the_polling_fallback_reads_future_bookings_from_the_restaurants_today(
        make_connector, mocked):
    # 23:30 UTC is already the 3rd in Brussels.
    first = mocked.get(f"{API}/booking/2026-12-03/31", json=[booking_body()])
    second = mocked.get(f"{API}/booking/2027-01-03/9",
                        json=[booking_body(uid="bk-2"), booking_body()])

    changed = make_connector(poll_days=40).list_changed()

    assert (first.call_count, second.call_count) == (1, 1)
    assert [r.external_id for r in changed.reservations] == ["bk-1", "bk-2"]
    assert changed.window_start == date(2026, 12, 3)
    assert changed.window_end == date(2027, 1, 11)


def test_it_reads_tables_and_areas_with_integer_ids(make_connector, mocked):
    mocked.get(f"{API}/tables", json=[{"id": 12, "name": "12", "minPeople": 2, "maxPeople": 4,
                                       "areaId": 3, "priority": 1, "posId": "T12"}])
    mocked.get(f"{API}/areas", json=[{"id": 3, "name": "Terras", "posId": "A3",
                                      "displayName": {"en": "Terrace"}, "priority": 1}])
    connector = make_connector()

    (table,) = connector.list_tables()
    (area,) = connector.list_areas()

    assert (table.external_id, table.area_external_id) == ("12", "3")
    assert (area.external_id, area.name) == ("3", "Terras")
    for call in mocked.calls:
        # The key as Formitable reads it: its own header, no prefix, nothing else.
        assert call.request.headers["ApiKey"] == KEY
        assert "X-Api-Key" not in call.request.headers
        assert "Authorization" not in call.request.headers


def test_it_reads_availability_for_an_offer(make_connector, mocked):
    mocked.get(f"{API}/availability/day/2026-12-10/4/nl",
               match=[responses.matchers.query_param_matcher({"productUid": "prod-1"})],
               json=[{"time": "2026-12-10T19:30:00+01:00", "status": "AVAILABLE",
                      "maxDuration": 120, "area": "Terras"}])

    (slot,) = make_connector(language="nl").get_availability(
        day=date(2026, 12, 10), party_size=4, offer_external_id="prod-1")

    assert slot.bookable
    assert slot.start == datetime(2026, 12, 10, 18, 30, tzinfo=UTC)


def test_authenticate_reads_the_restaurant(make_connector, mocked):
    restaurant = mocked.get(f"{BASE}/api/v1.2/restaurants/{UID}", json={"uid": UID})

    make_connector().authenticate()

    assert restaurant.call_count == 1


# -- errors -----------------------------------------------------------------------------

def test_a_refused_create_is_permanent_with_the_platforms_words(make_connector, mocked):
    mocked.post(f"{API}/booking", status=400,
                json={"message": "The field numberOfPeople must be between 1 and 20."})

    with pytest.raises(PermanentError, match="numberOfPeople must be between"):
        make_connector().create_reservation(reservation_data(party_size=40))


def test_an_unknown_booking_is_booking_not_found(make_connector, mocked):
    mocked.get(f"{API}/booking/nope", status=404)

    with pytest.raises(BookingNotFound):
        make_connector().get_reservation("nope")


def test_a_refused_key_puts_the_connection_in_error(make_connector, mocked, connection):
    mocked.get(f"{API}/booking/bk-1", status=401, json={"message": "Invalid ApiKey"})

    with pytest.raises(PermanentError):
        make_connector().get_reservation("bk-1")

    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR


def test_a_429_without_retry_after_is_retried_with_backoff(make_connector, mocked):
    mocked.get(f"{API}/booking/bk-1", status=429, json={"message": "Too many requests"})
    mocked.get(f"{API}/booking/bk-1", json=booking_body())

    remote = make_connector().get_reservation("bk-1")

    assert remote.external_id == "bk-1"
    assert len(mocked.calls) == 2


def test_a_connection_without_a_key_is_refused_readably(mocked):
    client_cache_clear()
    keyless = connection_create(platform="zenchef", name="No key")

    with pytest.raises(PermanentError, match="no Zenchef API key"):
        get_connector(ConnectorConfig(platform="zenchef", restaurant_uid=UID,
                                      connection=keyless, base_url=BASE))
    client_cache_clear()


def test_the_audit_trail_masks_the_key_and_the_guests_contact(make_connector, mocked):
    mocked.post(f"{API}/booking", json=booking_body())

    make_connector().create_reservation(reservation_data())

    row = SyncLog.objects.get(action="zenchef.booking.create")
    logged = json.dumps([row.request_headers, row.request_body, row.response_body])
    assert KEY not in logged
    assert "+32470123456" not in logged
    assert "jan@example.com" not in logged
    assert row.entity_id == "res-1"


def test_the_engines_audit_scope_reaches_every_exchange(make_connector, mocked):
    operation = OutboundOperation.objects.create(
        platform="zenchef", kind="restosync.push_reservation",
        idempotency_key="zenchef:test:res-1", payload={})
    mocked.get(f"{API}/booking/bk-1", json=booking_body())
    connector = make_connector()

    connector.audited(AuditScope(entity_id="res-1", operation_id=operation.pk,
                                 secrets=("Jan",))).get_reservation("bk-1")
    connector.get_reservation("bk-1")

    scoped, plain = SyncLog.objects.filter(action="zenchef.booking.get").order_by("pk")
    assert (scoped.entity_id, scoped.operation_id) == ("res-1", operation.pk)
    assert '"Jan"' not in scoped.response_body
    # The connector it was taken from is left as it was.
    assert (plain.entity_id, plain.operation_id) == ("", None)


def test_a_create_answered_without_a_uid_is_an_unknown_outcome(make_connector, mocked):
    mocked.post(f"{API}/booking", json={"status": "ACCEPTED"})

    with pytest.raises(OutcomeUnknownError, match="without a booking uid"):
        make_connector().create_reservation(reservation_data())
