"""A manager links an employer to a second ONSS account in the admin or the API, no code."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.connections import connection_create
from apps.dimona.models import Employer
from tests.dimona.factories import EmployerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_account():
    return connection_create(platform="dimona", name="Employer B's ONSS account")


def test_it_links_an_employer_to_another_onss_account_in_the_admin(manager_client,
                                                                    second_account):
    employer = EmployerFactory()

    response = manager_client.post(reverse("admin:dimona_employer_change", args=[employer.pk]), {
        "name": employer.name, "enterprise_number": employer.enterprise_number,
        "joint_commission": "XXX", "connection": second_account.pk})

    assert response.status_code == 302, response.context["adminform"].form.errors
    employer.refresh_from_db()
    assert employer.connection == second_account


def test_it_offers_only_onss_accounts_in_the_admin(manager_client, second_account):
    other = connection_create(platform="symphonics", name="A Symphonics client")

    response = manager_client.post(reverse("admin:dimona_employer_add"), {
        "name": "Frituur Marcel", "enterprise_number": "0403170701",
        "joint_commission": "XXX", "connection": other.pk})

    assert response.status_code == 200
    assert "connection" in response.context["adminform"].form.errors
    assert not Employer.objects.exists()


def test_it_links_and_unlinks_an_employer_through_the_api(api_client, second_account):
    employer = EmployerFactory()
    url = f"/api/dimona/employers/{employer.pk}/"

    linked = api_client.patch(url, {"connection": second_account.pk}, format="json")
    employer.refresh_from_db()
    assert linked.status_code == 200 and employer.connection == second_account

    unlinked = api_client.patch(url, {"connection": None}, format="json")
    employer.refresh_from_db()
    assert unlinked.status_code == 200 and employer.connection is None


def test_it_refuses_another_platforms_account_through_the_api(api_client):
    other = connection_create(platform="symphonics", name="A Symphonics client")

    response = api_client.post("/api/dimona/employers/", {
        "name": "Frituur Marcel", "enterprise_number": "0403170701",
        "connection": other.pk}, format="json")

    assert response.status_code == 400
    assert "connection" in response.json()["error"]["details"]
