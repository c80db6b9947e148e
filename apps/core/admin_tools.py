"""Helpers for admins of big tables and for calling services from actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.template.response import TemplateResponse

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


class ActionsOnlyAdmin(BigTableAdmin):
    """A page that changes its rows only through actions, each calling a service.

    The change permission is what allows the actions, so the list asks for
    it; an object's own page never does, and shows the row read-only: it is
    never saved from a form. Nobody adds or deletes a row by hand.
    """

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)


class PlatformFilter(admin.SimpleListFilter):
    """Platforms from the registry, not from a SELECT DISTINCT over a log table."""

    title = "platform"
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        from apps.core.platforms import registered_platforms

        return [(p.name, p.name) for p in registered_platforms()]

    def queryset(self, request, queryset):
        return queryset.filter(platform=self.value()) if self.value() else queryset


def require_change_permission(modeladmin: admin.ModelAdmin, request) -> None:
    """Refuse (403) a user who may not change the admin's model.

    Django only offers an action to the users its `allowed_permissions` name,
    but an action that forgets to declare them, or code that calls one
    directly, bypasses that filter: the services are reached past this check.
    """
    if not modeladmin.has_change_permission(request):
        raise PermissionDenied


def run_service_action(
    modeladmin: admin.ModelAdmin,
    request,
    objects: Iterable,
    service: Callable,
    success: str | None,
    *,
    report: Callable[[Any, Any], None] | None = None,
) -> None:
    """Call `service(obj)` for each object; a refusal becomes an admin message.

    Only for a user who may change the admin's model. `success` sums up the
    objects the service accepted; `report(obj, result)` tells of each instead
    or as well.
    """
    require_change_permission(modeladmin, request)
    done = 0
    for obj in objects:
        try:
            result = service(obj)
        except (ServiceError, ValueError, PlatformError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            modeladmin.message_user(request, f"{obj}: {message}", messages.ERROR)
        else:
            done += 1
            if report is not None:
                report(obj, result)
    if done and success:
        modeladmin.message_user(request, success.format(count=done), messages.SUCCESS)


def confirmed_service_action(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    *,
    action: str,
    form_class: type[forms.Form],
    service: Callable[[Any, dict[str, Any]], Any],
    success: str,
    title: str,
    template: str,
) -> TemplateResponse | None:
    """An action with an intermediate page: its form first; once the form comes
    back valid with "apply", `service(obj, cleaned_data)` for each object.

    `template` extends "admin/confirm_action.html". The page is refused to a
    user who may not change the model, like the change it leads to.
    """
    require_change_permission(modeladmin, request)
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            run_service_action(modeladmin, request, queryset, lambda obj: service(obj, data),
                               success)
            return None
    else:
        form = form_class()
    return TemplateResponse(request, template, {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.opts,
        "objects": queryset,
        "form": form,
        "action": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    })


def database_is_postgres() -> bool:
    return connection.vendor == "postgresql"
