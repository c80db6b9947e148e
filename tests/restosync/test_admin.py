"""The RestoSync back-office: every page opens for a manager, contacts and
credentials are masked, and saves go through the services' rules."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import platforms
from apps.core.http import Platform
from apps.core.models import ExternalMapping
from apps.core.sync import mapping_upsert
from apps.restosync.models import (
    Customer,
    DiningRoom,
    DiningService,
    DiningTable,
    Offer,
    Reservation,
    Restaurant,
    SyncPlatformConfig,
)
from tests.restosync.factories import (
    DiningRoomFactory,
    DiningServiceFactory,
    DiningTableFactory,
    OfferFactory,
    RestaurantFactory,
    make_reservation,
    next_weekday,
)
from tests.restosync.factories import make_config_with_known_secrets as make_config

pytestmark = pytest.mark.django_db

MODELS = [Restaurant, DiningRoom, DiningTable, DiningService, Offer, Customer, Reservation,
          SyncPlatformConfig]


@pytest.fixture
def rows():
    restaurant = RestaurantFactory()
    room = DiningRoomFactory(restaurant=restaurant)
    table = DiningTableFactory(restaurant=restaurant, room=room)
    service = DiningServiceFactory(restaurant=restaurant)
    offer = OfferFactory(restaurant=restaurant)
    reservation = make_reservation(restaurant=restaurant, tables=[table], dining_room=room,
                                   service=service, offer=offer)
    config = make_config(restaurant=restaurant)
    mapping_upsert(entity_type="reservation", local_id=reservation.pk,
                   connection=config.connection, external_id="bk-77",
                   status=ExternalMapping.Status.PENDING)
    return {Restaurant: restaurant, DiningRoom: room, DiningTable: table,
            DiningService: service, Offer: offer, Customer: reservation.customer,
            Reservation: reservation, SyncPlatformConfig: config}


def url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_it_opens_every_page_for_a_manager(manager_client, rows, model):
    assert manager_client.get(url(model, "changelist")).status_code == 200
    assert manager_client.get(url(model, "change", rows[model].pk)).status_code == 200
    if model is not Customer:
        assert manager_client.get(url(model, "add")).status_code == 200


def test_the_reservation_pages_mask_the_contact_and_show_the_platform_state(manager_client,
                                                                            rows):
    listing = manager_client.get(url(Reservation, "changelist")).content.decode()
    page = manager_client.get(url(Reservation, "change", rows[Reservation].pk)).content.decode()

    assert "bk-77" in listing and 'data-status="pending"' in listing
    for content in (listing, page):
        assert "+32470123456" not in content
        assert "ann@example.test" not in content
    assert "zenchef" in page and "456" in page


def test_the_customer_page_masks_the_contact(manager_client, rows):
    page = manager_client.get(url(Customer, "change", rows[Customer].pk)).content.decode()

    assert "+32470123456" not in page and "ann@example.test" not in page


def test_the_configuration_page_never_shows_the_credentials(manager_client, rows):
    page = manager_client.get(url(SyncPlatformConfig, "change",
                                  rows[SyncPlatformConfig].pk)).content.decode()

    assert "key-abcdef-123456" not in page and "whsec-987654" not in page
    assert "91edfa29" in page
    assert f"/api/webhooks/zenchef/{rows[SyncPlatformConfig].connection_id}/" in page


def test_a_reservation_added_in_the_admin_follows_the_rules(manager_client):
    restaurant = RestaurantFactory()
    DiningServiceFactory(restaurant=restaurant, max_covers=4)
    moment = next_weekday(5)
    form = {"customer_name": "Bo Janssens", "customer_phone": "+32 471 00 00 01",
            "customer_email": "", "restaurant": restaurant.pk, "party_size": 6,
            "reservation_time_0": moment.strftime("%Y-%m-%d"),
            "reservation_time_1": moment.strftime("%H:%M:%S"),
            "duration_min": 90, "status": "confirmed", "source": "phone"}

    refused = manager_client.post(url(Reservation, "add"), form)
    assert refused.status_code == 200
    assert "at most 4 covers" in refused.content.decode()
    assert not Reservation.objects.exists()

    saved = manager_client.post(url(Reservation, "add"), {**form, "party_size": 3})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    reservation = Reservation.objects.get()
    assert (reservation.party_size, reservation.version, reservation.customer.phone) == (
        3, 1, "+32471000001")


def test_a_change_in_the_admin_bumps_the_version(manager_client, rows):
    reservation = rows[Reservation]
    page = manager_client.get(url(Reservation, "change", reservation.pk))
    form = {name: value for name, value in page.context["adminform"].form.initial.items()
            if value is not None}
    local = reservation.reservation_time
    form.update({"customer_name": "Ann Peeters", "party_size": 3, "notes": "Window",
                 "reservation_time_0": local.strftime("%Y-%m-%d"),
                 "reservation_time_1": local.strftime("%H:%M:%S"),
                 "tables": [t.pk for t in reservation.tables.all()], "occasion": "",
                 "allergies_text": "", "dietary_text": ""})
    form.pop("reservation_time", None)
    form.pop("restaurant", None)

    response = manager_client.post(url(Reservation, "change", reservation.pk), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    reservation.refresh_from_db()
    assert (reservation.party_size, reservation.notes, reservation.version) == (3, "Window", 2)


def test_a_table_in_use_is_shown_protected_before_any_delete(manager_client, rows):
    page = manager_client.get(url(DiningTable, "delete", rows[DiningTable].pk))

    assert "reservations refer to it" in page.content.decode()


def test_a_configuration_added_in_the_admin_gets_its_connection(manager_client):
    restaurant = RestaurantFactory()

    response = manager_client.post(url(SyncPlatformConfig, "add"), {
        "restaurant": restaurant.pk, "platform": "zenchef", "new_api_key": "key-1234567",
        "restaurant_uid": "abc12345", "sync_entities": ["reservation"],
        "poll_interval_sec": 300, "is_active": "on", "supports_webhook": "on"})

    assert response.status_code == 302, response.content.decode()[:3000]
    config = SyncPlatformConfig.objects.get()
    assert config.connection.credentials().api_key == "key-1234567"


def test_the_reservation_list_costs_the_same_queries_for_more_rows(manager_client, rows):
    changelist = url(Reservation, "changelist")
    with CaptureQueriesContext(connection) as few:
        manager_client.get(changelist)
    config = rows[SyncPlatformConfig]
    for n in range(5):
        reservation = make_reservation(restaurant=rows[Restaurant],
                                       customer_phone=f"+3247111{n:04d}")
        mapping_upsert(entity_type="reservation", local_id=reservation.pk,
                       connection=config.connection, external_id=f"bk-{n}")
    with CaptureQueriesContext(connection) as more:
        manager_client.get(changelist)

    assert len(more) == len(few)


def test_the_configuration_page_shows_the_breaker_once_its_platform_is_registered(
        manager_client, rows, monkeypatch):
    config = rows[SyncPlatformConfig]
    if not platforms.platform_registered("zenchef"):
        # Until the connector's platform is wired into the DomainApp.
        monkeypatch.setitem(platforms._registry, "zenchef", lambda: Platform(
            name="zenchef", base_url="http://127.0.0.1:8103"))
    page = manager_client.get(url(SyncPlatformConfig, "change", config.pk)).content.decode()
    assert 'data-status="closed"' in page


def test_a_restaurant_and_a_room_are_saved_through_the_services(manager_client):
    saved = manager_client.post(url(Restaurant, "add"), {"name": "Chez Bo",
                                                         "time_zone": "Europe/Paris"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    restaurant = Restaurant.objects.get()

    saved = manager_client.post(url(DiningRoom, "add"), {"restaurant": restaurant.pk,
                                                         "name": "Terrace", "capacity": 12,
                                                         "is_active": "on"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert DiningRoom.objects.get().restaurant == restaurant

    refused = manager_client.post(url(DiningTable, "add"), {
        "restaurant": RestaurantFactory().pk, "room": DiningRoom.objects.get().pk,
        "name": "T1", "min_covers": 1, "max_covers": 2, "is_active": "on"})
    assert refused.status_code == 200
    assert "belongs to another restaurant" in refused.content.decode()
    assert not DiningTable.objects.exists()


def test_a_service_checked_form_must_say_which_service_check_it_asks():
    from apps.restosync.admin import ServiceCheckedForm
    from apps.restosync.models import Restaurant

    class Unchecked(ServiceCheckedForm):
        class Meta:
            model = Restaurant
            fields = ["name"]

    with pytest.raises(TypeError, match="service_check"):
        Unchecked()
