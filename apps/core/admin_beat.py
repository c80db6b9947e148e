"""What the admin site shows beyond the hub's own models: none of Celery beat's
internal schedule kinds the hub never uses.

The hub's schedules are crontabs and intervals (`apps.core.schedules`, the
one-minute sweep runs on an interval); it never makes a clocked or a solar
schedule, and their pages only puzzled Managers, so they are not in the
back-office at all. A periodic task's page still shows its (empty) clocked
and solar fields, read from django-celery-beat's own admin.
"""

from __future__ import annotations

from django.contrib import admin
from django_celery_beat import admin as beat_admin  # noqa: F401  (registers them first)
from django_celery_beat.models import ClockedSchedule, SolarSchedule

for model in (ClockedSchedule, SolarSchedule):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
