"""Permissions of the Manager and Admin groups, derived from the registered domain apps."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from apps.core.api.permissions import ADMIN_GROUP, MANAGER_GROUP
from apps.core.registry import registered_domains


def _domain_permissions(*, for_managers: bool) -> Q:
    # Matches nothing when no domain is registered, rather than everything.
    allowed = Q(pk__in=[])
    for domain in registered_domains():
        app = Q(content_type__app_label=domain.label)
        if for_managers and domain.manager_view_only:
            view_only = Q(content_type__model__in=sorted(domain.manager_view_only))
            app &= ~view_only | (view_only & Q(codename__startswith="view_"))
        allowed |= app
    return allowed


def group_permissions_sync() -> dict[str, int]:
    """Managers: everything in the domain apps (but what a domain keeps view-only),
    read and act on the core logs. Admins: all of the domain apps, plus users,
    groups and schedules. Idempotent."""
    core_view = Q(content_type__app_label="core", codename__startswith="view_")
    core_act = Q(content_type__app_label="core",
                 codename__in=["change_webhookevent", "change_outboundoperation",
                               "change_conflict", "change_synccursor",
                               # Partners' endpoints: add, re-enable, redeliver.
                               "add_webhookendpoint", "change_webhookendpoint",
                               "change_webhookdelivery"])
    schedules = Q(content_type__app_label="django_celery_beat")
    accounts = Q(content_type__app_label="auth")
    manager = Permission.objects.filter(
        _domain_permissions(for_managers=True) | core_view | core_act
        | Q(content_type__app_label="django_celery_beat", codename__startswith="view_"))
    admin = Permission.objects.filter(_domain_permissions(for_managers=False) | core_view
                                      | core_act | schedules | accounts
                                      | Q(content_type__app_label="core"))
    counts = {}
    for name, permissions in ((MANAGER_GROUP, manager), (ADMIN_GROUP, admin)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
        counts[name] = permissions.count()
    return counts
