"""The admin site as a Manager meets it: no "View site" link to a missing page,
and none of Celery beat's schedule kinds the hub never uses."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

pytestmark = pytest.mark.django_db


def test_it_shows_no_view_site_link(manager_client):
    page = manager_client.get(reverse("admin:index"))

    assert page.status_code == 200
    assert page.context["site_url"] is None
    assert "View site" not in page.content.decode()


def test_it_keeps_clocked_and_solar_schedules_out_of_the_back_office(manager_client,
                                                                     admin_client):
    index = manager_client.get(reverse("admin:index")).content.decode()
    superuser_index = admin_client.get(reverse("admin:index")).content.decode()

    assert not admin.site.is_registered(ClockedSchedule)
    assert not admin.site.is_registered(SolarSchedule)
    for url_name in ("django_celery_beat_clockedschedule_changelist",
                     "django_celery_beat_solarschedule_changelist"):
        with pytest.raises(NoReverseMatch):
            reverse(f"admin:{url_name}")
    assert "clockedschedule" not in index and "solarschedule" not in index
    assert "clockedschedule" not in superuser_index


def test_it_keeps_the_schedules_the_hub_runs_on(manager_client):
    # The sweep runs on an interval, the evening Dimona job on a crontab.
    for model in (PeriodicTask, IntervalSchedule, CrontabSchedule):
        assert admin.site.is_registered(model)
        opts = model._meta
        page = manager_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert page.status_code == 200
