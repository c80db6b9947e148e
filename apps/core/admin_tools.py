"""Helpers for admins of big tables and for calling services from actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection

from apps.core.errors import ServiceError
from apps.core.http import PlatformError

# A log table is never counted in full: past this many rows the admin shows
# "10000+" pages, which is all a person needs.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk")[:COUNT_CAP].count()


class BigTableAdmin(admin.ModelAdmin):
    paginator = CappedPaginator
    show_full_result_count = False
    list_per_page = 50


class ReadOnlyAdmin(BigTableAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PlatformFilter(admin.SimpleListFilter):
    """Platforms from the registry, not from a SELECT DISTINCT over a log table."""

    title = "platform"
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        from apps.core.platforms import registered_platforms

        return [(p.name, p.name) for p in registered_platforms()]

    def queryset(self, request, queryset):
        return queryset.filter(platform=self.value()) if self.value() else queryset


def run_service_action(
    modeladmin: admin.ModelAdmin,
    request,
    objects: Iterable,
    service: Callable,
    success: str,
) -> None:
    """Call `service(obj)` for each object; a refusal becomes an admin message."""
    done = 0
    for obj in objects:
        try:
            service(obj)
        except (ServiceError, ValueError, PlatformError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            modeladmin.message_user(request, f"{obj}: {message}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, success.format(count=done), messages.SUCCESS)


def database_is_postgres() -> bool:
    return connection.vendor == "postgresql"
