"""Permissions of the Manager and Admin groups, derived from the installed apps."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from apps.core.api.permissions import ADMIN_GROUP, MANAGER_GROUP

DOMAIN_APPS = ("dimona", "symphonics", "restosync", "tuniclaim", "integrations")


def group_permissions_sync() -> dict[str, int]:
    """Managers: everything in the domain apps, read and act on the core logs.
    Admins: that plus users, groups and schedules. Idempotent."""
    domain = Q(content_type__app_label__in=DOMAIN_APPS)
    core_view = Q(content_type__app_label="core", codename__startswith="view_")
    core_act = Q(content_type__app_label="core",
                 codename__in=["change_webhookevent", "change_outboundoperation"])
    schedules = Q(content_type__app_label="django_celery_beat")
    accounts = Q(content_type__app_label="auth")
    manager = Permission.objects.filter(domain | core_view | core_act | Q(
        content_type__app_label="django_celery_beat", codename__startswith="view_"))
    admin = Permission.objects.filter(domain | core_view | core_act | schedules | accounts
                                      | Q(content_type__app_label="core"))
    counts = {}
    for name, permissions in ((MANAGER_GROUP, manager), (ADMIN_GROUP, admin)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
        counts[name] = permissions.count()
    return counts
