"""The integrations back-office as a Manager uses it: every page opens, events go
through the services, integrations are read-only with a reconnect hint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Connection
from apps.integrations.models import Event, Integration, Membership, Organization
from tests.integrations.factories import (
    EventFactory,
    attendee,
    integrations_rows,
    make_integration,
)

pytestmark = pytest.mark.django_db

MODELS = (Organization, Membership, Event, Integration)


@pytest.mark.parametrize("model", MODELS, ids=[model.__name__ for model in MODELS])
def test_it_opens_every_page_for_a_manager(manager_client, model):
    integrations_rows()
    opts = model._meta
    obj = model.objects.order_by("-pk").first()

    changelist = manager_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    change = manager_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                        args=[obj.pk]))

    assert changelist.status_code == 200
    assert change.status_code == 200


def test_it_keeps_organisations_and_memberships_view_only_for_managers(manager_client):
    assert manager_client.get(reverse("admin:integrations_organization_add")).status_code == 403
    assert manager_client.get(reverse("admin:integrations_membership_add")).status_code == 403
    assert manager_client.get(reverse("admin:integrations_integration_add")).status_code == 403


def test_it_shows_the_status_and_a_reconnect_hint_for_a_broken_connection(manager_client):
    broken = make_integration(provider="zoom", status=Connection.Status.ERROR,
                              account_email="owner@zoom.example")
    Connection.objects.filter(pk=broken.connection_id).update(
        status_reason="The refresh token was revoked.")
    make_integration(provider="google")

    page = manager_client.get(reverse("admin:integrations_integration_changelist"))

    content = page.content.decode()
    assert 'data-status="error"' in content and 'data-status="connected"' in content
    assert "Connect again from /api/integrations/zoom/connect" in content
    assert "/api/integrations/google/connect" not in content
    assert "owner@zoom.example" not in content


def test_it_creates_and_changes_events_through_the_services(manager_client, manager_user):
    start = timezone.localtime(timezone.now() + timedelta(days=1)).replace(microsecond=0)
    form = {"organization": Organization.objects.get(is_default=True).pk, "type": "meeting",
            "title": "Kick-off", "description": "", "location": "",
            "start_0": start.strftime("%Y-%m-%d"), "start_1": start.strftime("%H:%M:%S"),
            "end_0": start.strftime("%Y-%m-%d"),
            "end_1": (start + timedelta(hours=1)).strftime("%H:%M:%S"),
            "time_zone": "Europe/Brussels",
            "attendances-TOTAL_FORMS": "0", "attendances-INITIAL_FORMS": "0"}

    created = manager_client.post(reverse("admin:integrations_event_add"), form)
    event = Event.objects.get(title="Kick-off")
    changed = manager_client.post(reverse("admin:integrations_event_change", args=[event.pk]),
                                  {**form, "title": "Kick-off 2026"})
    backwards = manager_client.post(reverse("admin:integrations_event_change", args=[event.pk]),
                                    {**form, "end_1": (start - timedelta(hours=1)).strftime(
                                        "%H:%M:%S")})

    assert created.status_code == 302
    assert event.organizer == manager_user and event.version == 1
    assert changed.status_code == 302
    event.refresh_from_db()
    assert (event.title, event.version) == ("Kick-off 2026", 2)
    assert backwards.status_code == 200  # the form again, the error on `end`
    event.refresh_from_db()
    assert event.version == 2


def test_it_cancels_events_from_the_list(manager_client):
    event = EventFactory()
    attendee(event, "ada@example.test", name="Ada")

    response = manager_client.post(reverse("admin:integrations_event_changelist"),
                                   {"action": "cancel_events", "_selected_action": [event.pk]})

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.cancelled_at is not None and event.version == 2
    # A cancelled event opens, read-only.
    page = manager_client.get(reverse("admin:integrations_event_change", args=[event.pk]))
    assert page.status_code == 200
    assert b"ada@example.test" not in page.content
