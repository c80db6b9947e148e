"""After migrate, the Manager and Admin groups hold the permissions of every app."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")}


def test_it_gives_managers_the_domain_permissions_made_by_the_same_migrate():
    # The test database was made by one migrate from nothing, as a first deploy is.
    manager = _codenames("Manager")

    assert {"dimona.change_shift", "dimona.view_dimonadeclaration",
            "symphonics.change_intervention", "core.view_synclog",
            "core.change_outboundoperation", "django_celery_beat.view_periodictask"} <= manager
    assert "django_celery_beat.change_periodictask" not in manager
    assert "auth.change_user" not in manager


def test_it_gives_admins_schedules_and_accounts_too():
    admin = _codenames("Admin")

    assert {"dimona.change_shift", "django_celery_beat.change_periodictask",
            "auth.change_user"} <= admin


def test_it_restores_a_group_emptied_by_hand_at_the_next_migrate():
    Group.objects.get(name="Manager").permissions.clear()

    call_command("migrate", verbosity=0)

    assert "dimona.change_shift" in _codenames("Manager")
