"""Helpers for the admins: big tables, services called from actions, domain actions
on an object's page and in its list (`ObjectActionsMixin`), and pages that refresh
themselves while work is in flight (`AutoRefreshMixin`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

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

    title = _("platform")
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        from apps.core.platforms import registered_platforms

        return [(p.name, p.name) for p in registered_platforms()]

    def queryset(self, request, queryset):
        return queryset.filter(platform=self.value()) if self.value() else queryset


class ToDoFilter(admin.SimpleListFilter):
    """The rows still to deal with unless asked otherwise (`done_field`, a time,
    empty); the done ones, or all, on demand. A subclass names the field and
    the three choices."""

    title = _("state")
    parameter_name = "state"
    done_field = ""
    # The query-string value of the done rows.
    done_value = "done"
    todo_label: Any = ""
    done_label: Any = ""
    all_label: Any = _("All")

    def lookups(self, request, model_admin):
        return [(self.done_value, self.done_label), ("all", self.all_label)]

    def choices(self, changelist):
        yield {"selected": self.value() is None,
               "query_string": changelist.get_query_string(remove=[self.parameter_name]),
               "display": self.todo_label}
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                   "display": title}

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(**{f"{self.done_field}__isnull": self.value() != self.done_value})


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
    report: Callable[[Any, Any], None] | None = None,
    extra_context: dict[str, Any] | None = None,
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
                               success, report=report)
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
        "media": modeladmin.media + form.media,
        **(extra_context or {}),
    })


# -- domain actions on an object's page and in its change list --------------------------------

@dataclass(frozen=True)
class ObjectAction:
    """A domain action, declared once, offered on each object's page and in the list.

    `service(obj, data, user)` does the work (`data`: the action's form's
    cleaned data, or {}; `user`: the manager who asked, for the services that
    record who acted). `unavailable(obj)` says in words why the object's state does
    not allow it now, or "" when it does; the button is then disabled with that
    reason, or hidden with `hide_when_unavailable`. A `destructive` action, or
    one with a `form_class`, opens a page first: `consequence(obj)` says there
    in plain words what will be sent to which platform. `report(obj, result)`
    is the message after each object done; `success` sums up a bulk run
    ("{count}"). `bulk=False` keeps it off the change list.
    """

    name: str
    label: Any
    service: Callable[[Any, dict[str, Any], Any], Any]
    success: Any
    permission: str = "change"
    unavailable: Callable[[Any], Any] | None = None
    hide_when_unavailable: bool = False
    destructive: bool = False
    consequence: Callable[[Any], Any] | None = None
    form_class: type[forms.Form] | None = None
    initial: Callable[[Any], dict[str, Any]] | None = None
    report: Callable[[Any, Any], Any] | None = None
    confirm_label: Any = ""
    bulk: bool = True

    @property
    def opens_a_page(self) -> bool:
        return self.destructive or self.form_class is not None

    def reason_unavailable(self, obj) -> str:
        return str(self.unavailable(obj) or "") if self.unavailable is not None else ""


class NoFields(forms.Form):
    """The form of a confirmation that asks for nothing but the click."""


@dataclass(frozen=True)
class OfferedAction:
    """An action as the object's page shows it."""

    action: ObjectAction
    url: str
    reason: str

    @property
    def enabled(self) -> bool:
        return not self.reason


def _allowed(modeladmin: admin.ModelAdmin, request, action: ObjectAction) -> bool:
    return getattr(modeladmin, f"has_{action.permission}_permission")(request)


def _require_allowed(modeladmin: admin.ModelAdmin, request, action: ObjectAction) -> None:
    if not _allowed(modeladmin, request, action):
        raise PermissionDenied
    # The services change things: whatever else the action asks for, the change too.
    require_change_permission(modeladmin, request)


def _reporter(modeladmin: admin.ModelAdmin, request, action: ObjectAction):
    if action.report is None:
        return None

    def report(obj, result) -> None:
        message = action.report(obj, result)
        if message:
            modeladmin.message_user(request, str(message), messages.SUCCESS)

    return report


def _available(modeladmin: admin.ModelAdmin, request, action: ObjectAction,
               objects: Iterable) -> list:
    """The objects whose state allows the action; each of the others is told why not."""
    allowed = []
    for obj in objects:
        reason = action.reason_unavailable(obj)
        if reason:
            modeladmin.message_user(request, f"{obj}: {reason}", messages.ERROR)
        else:
            allowed.append(obj)
    return allowed


def _run_one(modeladmin: admin.ModelAdmin, request, action: ObjectAction, obj,
             data: dict[str, Any]) -> None:
    """On the object's page: its own report, or the summary when it has none."""
    run_service_action(modeladmin, request, [obj],
                       lambda o: action.service(o, data, request.user),
                       None if action.report else str(action.success),
                       report=_reporter(modeladmin, request, action))


def _bulk_action(action: ObjectAction) -> Callable:
    """The action in the change list: a summary message, not one per row."""

    def run(modeladmin: admin.ModelAdmin, request, queryset):
        _require_allowed(modeladmin, request, action)
        objects = list(queryset)
        if not action.opens_a_page:
            run_service_action(modeladmin, request, _available(modeladmin, request, action,
                                                               objects),
                               lambda obj: action.service(obj, {}, request.user),
                               str(action.success))
            return None
        applying = "apply" in request.POST
        return confirmed_service_action(
            modeladmin, request,
            _available(modeladmin, request, action, objects) if applying else objects,
            action=action.name, form_class=action.form_class or NoFields,
            service=lambda obj, data: action.service(obj, data, request.user),
            success=str(action.success), title=action.label,
            template="admin/core/object_actions_confirm.html",
            extra_context={"object_action": action,
                           "consequences": _consequences(action, objects)})

    run.__name__ = action.name
    return admin.action(description=action.label, permissions=[action.permission])(run)


def _consequences(action: ObjectAction, objects: Iterable) -> list[tuple[Any, str, str]]:
    """(object, what will be sent, why it cannot be done) for a confirmation page."""
    return [(obj, str(action.consequence(obj)) if action.consequence else "",
             action.reason_unavailable(obj)) for obj in objects]


class ObjectActionsMixin:
    """Buttons for `object_actions` on each object's page, and the same actions in
    the change list (under their `name`, which a method of the admin may not take).

    Each button posts (CSRF) to the object's `<id>/actions/<name>/` address; an
    action that opens a page first is a link to it, and the page posts back.
    A GET never acts. The permission is checked before anything is read, and a
    service's refusal is an error message on the object's page.
    """

    object_actions: tuple[ObjectAction, ...] = ()
    change_form_template = "admin/core/object_actions_change_form.html"
    change_list_template = "admin/core/object_actions_change_list.html"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        names = list(cls.actions or [])
        for action in cls.object_actions:
            if not action.bulk:
                continue
            if action.name in cls.__dict__:
                raise TypeError(f"{cls.__name__}.{action.name} is taken; rename the action.")
            setattr(cls, action.name, _bulk_action(action))
            if action.name not in names:
                names.append(action.name)
        cls.actions = names

    def _object_action_url_name(self, action: ObjectAction) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_action_{action.name}"

    def get_urls(self):
        urls = [
            path(f"<path:object_id>/actions/{action.name}/",
                 self.admin_site.admin_view(self.object_action_view),
                 kwargs={"action_name": action.name},
                 name=self._object_action_url_name(action))
            for action in self.object_actions
        ]
        return urls + super().get_urls()

    def get_object_action(self, name: str) -> ObjectAction:
        for action in self.object_actions:
            if action.name == name:
                return action
        raise Http404

    def offered_actions(self, request, obj) -> list[OfferedAction]:
        """The buttons of `obj`'s page for this user: none they may not use."""
        offered = []
        for action in self.object_actions:
            if not _allowed(self, request, action) or not self.has_change_permission(request):
                continue
            reason = action.reason_unavailable(obj)
            if reason and action.hide_when_unavailable:
                continue
            url = reverse(f"admin:{self._object_action_url_name(action)}",
                          args=[quote(obj.pk)], current_app=self.admin_site.name)
            offered.append(OfferedAction(action=action, url=url, reason=reason))
        return offered

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        extra = {"object_actions": self.offered_actions(request, obj) if obj else [],
                 **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def object_action_view(self, request, object_id: str, action_name: str):
        action = self.get_object_action(action_name)
        # Refused before the object is even looked up: the answer tells nothing.
        _require_allowed(self, request, action)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                             args=[quote(obj.pk)], current_app=self.admin_site.name)
        # Back where the manager came from (the Live page…), if it is one of ours.
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            next_url = ""
        done_url = next_url or change_url
        reason = action.reason_unavailable(obj)
        if reason:
            self.message_user(request, f"{obj}: {reason}", messages.ERROR)
            return HttpResponseRedirect(done_url)
        form = None
        if request.method == "POST":
            if not action.opens_a_page:
                _run_one(self, request, action, obj, {})
                return HttpResponseRedirect(done_url)
            if "apply" in request.POST:
                form = (action.form_class or NoFields)(request.POST)
                if form.is_valid():
                    _run_one(self, request, action, obj, form.cleaned_data)
                    return HttpResponseRedirect(done_url)
        if form is None:
            form_class = action.form_class or NoFields
            form = form_class(initial=action.initial(obj) if action.initial else None)
        return TemplateResponse(request, "admin/core/object_actions_confirm.html", {
            **self.admin_site.each_context(request),
            "title": action.label,
            "opts": self.opts,
            "original": obj,
            "objects": [obj],
            "form": form,
            "object_action": action,
            "consequences": _consequences(action, [obj]),
            "change_url": change_url,
            "next_url": next_url,
            "media": self.media + form.media,
        })


# -- pages that refresh themselves while work is in flight -----------------------------------

@dataclass(frozen=True)
class Progress:
    """How far long work has gone: `done` of `total` steps, and what it is doing."""

    summary: str
    done: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class AutoRefresh:
    seconds: int
    pending: int
    progress: list[Progress]


class AutoRefreshMixin:
    """A change page, or a change list, reloads itself every `auto_refresh_seconds`
    while `pending(obj)` holds for its object (for any object of the list's page),
    and never otherwise. A page with unsaved input or ticked rows is not reloaded.
    `pending_progress(obj)` says how far the work is, where it can tell.
    """

    auto_refresh_seconds = 5
    change_form_template = "admin/core/object_actions_change_form.html"
    change_list_template = "admin/core/object_actions_change_list.html"

    def pending(self, obj) -> bool:
        return False

    def pending_progress(self, obj) -> Progress | None:
        return None

    def auto_refresh_for(self, objects: Iterable) -> AutoRefresh | None:
        pending = [obj for obj in objects if self.pending(obj)]
        if not pending:
            return None
        progress = [p for p in (self.pending_progress(obj) for obj in pending) if p]
        return AutoRefresh(seconds=self.auto_refresh_seconds, pending=len(pending),
                           progress=progress)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            # The page's rows, already read for the list: no query of its own.
            context["auto_refresh"] = self.auto_refresh_for(context["cl"].result_list)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and context.get("original") is not None:
            context["auto_refresh"] = self.auto_refresh_for([context["original"]])
        return response


def database_is_postgres() -> bool:
    return connection.vendor == "postgresql"
