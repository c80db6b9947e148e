"""The Symphonics panel of the home page: publications in flight."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.symphonics.models import Intervention
from tests.factories import UserFactory
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
PANEL = b'id="dash-symphonics_publications"'
REFRESH = b'class="hub-auto-refresh"'
Status = Intervention.Status


def panel_of(response) -> str:
    page = response.content.decode()
    start = page.index('id="dash-symphonics_publications"')
    return page[start:page.index("</section>", start)]


def test_it_lists_the_publications_in_flight(manager_client):
    InterventionFactory(external_id="int_ready")
    InterventionFactory(external_id="int_publishing", status=Status.PUBLISHING)
    InterventionFactory(external_id="int_processing", published=True)
    InterventionFactory(external_id="int_proof", published=True, status=Status.PROOF_REQUIRED,
                        remote_status="additional_proof_required")
    InterventionFactory(external_id="int_approved", published=True, status=Status.APPROVED)

    response = manager_client.get(INDEX)

    panel = panel_of(response)
    assert ["int_ready" in panel, "int_publishing" in panel, "int_processing" in panel,
            "int_proof" in panel, "int_approved" in panel] == [False, True, True, True, False]
    assert 'data-status="publishing">Being published</span>' in panel
    assert 'title="Symphonics says: additional_proof_required"' in panel
    assert "Additional proof required: 1" in panel
    # No customer's personal data on the home page.
    assert "@example.com" not in panel


def test_it_refreshes_while_a_publication_is_being_sent(manager_client):
    intervention = InterventionFactory(status=Status.PUBLISHING)

    sending = manager_client.get(INDEX)
    Intervention.objects.filter(pk=intervention.pk).update(status=Status.PROCESSING,
                                                           symphonics_id="sym_1")
    at_symphonics = manager_client.get(INDEX)

    assert REFRESH in sending.content
    assert b"Publications in flight" in sending.content
    # Symphonics' decision takes days: no reason to reload for it.
    assert REFRESH not in at_symphonics.content
    assert b"int_test" in at_symphonics.content


def test_it_stops_refreshing_for_a_publication_stuck_for_a_day(manager_client):
    intervention = InterventionFactory(status=Status.PUBLISHING)
    Intervention.objects.filter(pk=intervention.pk).update(
        updated_at=timezone.now() - timedelta(days=2))

    response = manager_client.get(INDEX)

    assert REFRESH not in response.content


def test_it_hides_the_panel_from_who_may_not_view_interventions(client):
    InterventionFactory(status=Status.PUBLISHING)
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_shift"))
    client.force_login(user)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert PANEL not in response.content
    assert REFRESH not in response.content


def test_it_shows_the_panel_to_who_may_view_interventions_only(client):
    InterventionFactory(status=Status.PUBLISHING)
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_intervention"))
    client.force_login(user)

    response = client.get(INDEX)

    assert PANEL in response.content
    assert REFRESH in response.content


def test_it_lists_the_newest_in_a_constant_number_of_queries(manager_client):
    for _ in range(2):
        InterventionFactory(published=True)
    manager_client.get(INDEX)
    with CaptureQueriesContext(connection) as few:
        manager_client.get(INDEX)
    for _ in range(25):
        InterventionFactory(published=True)
    with CaptureQueriesContext(connection) as many:
        response = manager_client.get(INDEX)

    assert len(many) == len(few)
    assert "The newest 10 of 27." in panel_of(response)
    assert "Being verified by Symphonics: 27" in panel_of(response)
