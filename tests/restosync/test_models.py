"""What the models keep: a customer's contact encrypted at rest, findable by index."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.restosync.models import Customer, Reservation
from tests.restosync.factories import CustomerFactory, make_reservation

pytestmark = pytest.mark.django_db


def test_it_stores_the_customer_contact_encrypted_and_indexed():
    customer = CustomerFactory(phone="+32 470 12-34-56", email=" Ann@Example.TEST ")

    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, email FROM restosync_customer WHERE id = %s",
                       [customer.pk])
        phone, email = cursor.fetchone()
    assert "470" not in phone and "example" not in email.lower()
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.phone, stored.email) == ("+32470123456", "ann@example.test")
    assert Customer.objects.filter(
        phone_index=Customer.phone_index_for("+32470 123 456")).get() == stored
    assert stored.phone_masked.endswith("456") and "470" not in stored.phone_masked
    assert stored.email_masked.startswith("a") and stored.email_masked.endswith("@example.test")


def test_a_partial_save_of_the_phone_keeps_its_index_in_step():
    customer = CustomerFactory()
    customer.phone = "+32499000111"
    customer.save(update_fields=["phone"])

    assert Customer.objects.get(phone_index=Customer.phone_index_for("+32499000111")) == customer


def test_a_reservation_reads_in_its_restaurant_zone():
    reservation = make_reservation()

    assert str(reservation).startswith("Ann Peeters ")
    assert "CE" in str(reservation)  # CET or CEST, the zone named
    assert reservation.version == 1
    assert reservation.status in Reservation.Status.values
