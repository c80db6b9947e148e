"""Who may use the API: members of the Manager or Admin groups (and superusers)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

MANAGER_GROUP = "Manager"
ADMIN_GROUP = "Admin"


def is_manager(user) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    # Groups are prefetched per request by the authentication, one query at most.
    return any(group.name in (MANAGER_GROUP, ADMIN_GROUP) for group in user.groups.all())


def is_admin(user) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.groups.filter(name=ADMIN_GROUP).exists()


class IsManager(BasePermission):
    message = _("Only members of the Manager or Admin group may use this endpoint.")

    def has_permission(self, request, view) -> bool:
        return is_manager(request.user)


class IsAdmin(BasePermission):
    message = _("Only members of the Admin group may use this endpoint.")

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)
