"""A Manager still does everything the back-office offers them: the Live page
and its buttons, the platform health page, every action of the domains and
the core logs. Users, groups and schedules stay the Admins'."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from apps.core.models import OutboundOperation, WebhookEvent
from apps.dimona.models import DimonaDeclaration, Shift
from apps.symphonics.models import Intervention
from tests.dimona.factories import ShiftFactory, brussels

pytestmark = pytest.mark.django_db

ACTING_ON = (WebhookEvent, OutboundOperation, Shift, DimonaDeclaration, Intervention)



def test_it_lets_a_manager_clock_a_worker_in_on_the_live_page(manager_client):
    shift = ShiftFactory(start=brussels(2026, 11, 23, 17))
    with time_machine.travel(brussels(2026, 11, 23, 17, 5), tick=False):
        page = manager_client.get(reverse("admin:dimona_shift_live"))
        done = manager_client.post(reverse("admin:dimona_shift_live"),
                                   {"shift": shift.pk, "action": "clock_in"})

    assert page.status_code == 200
    assert b'value="clock_in"' in page.content
    assert done.status_code == 302
    shift.refresh_from_db()
    assert shift.status == Shift.Status.IN_PROGRESS


def test_it_shows_a_manager_the_platform_health(manager_client):
    index = manager_client.get(reverse("admin:index"))
    health = manager_client.get(reverse("admin:platform-health"))

    assert reverse("admin:platform-health").encode() in index.content
    assert health.status_code == 200


@pytest.mark.parametrize("model", ACTING_ON, ids=lambda model: model._meta.label)
def test_it_offers_a_manager_every_action(manager_client, model):
    opts = model._meta
    model_admin = admin.site.get_model_admin(model)

    page = manager_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    offered = {name for name, _ in page.context["action_form"].fields["action"].choices}
    assert set(model_admin.actions) <= offered


def test_it_opens_the_app_pages_of_a_manager_and_not_the_accounts(manager_client):
    assert manager_client.get(reverse("admin:app_list", args=["dimona"])).status_code == 200
    assert manager_client.get(reverse("admin:app_list", args=["core"])).status_code == 200
    assert manager_client.get(reverse("admin:app_list", args=["auth"])).status_code == 403


def test_it_leaves_running_periodic_jobs_to_the_admins(manager_client):
    page = manager_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))

    assert page.status_code == 200
    assert page.context["action_form"] is None


def test_it_follows_view_on_site_for_a_manager(manager_client):
    shift = ShiftFactory()
    url = reverse("admin:view_on_site",
                  args=[ContentType.objects.get_for_model(shift).pk, shift.pk])

    # A shift has no public page: past the permission check, Django answers 404.
    assert manager_client.get(url).status_code == 404
