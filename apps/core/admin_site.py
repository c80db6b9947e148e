"""The hub's admin site: Django's, plus the platform health page, with every
page it adds or wraps behind the permissions of the models it shows."""

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import entity_change_url, entity_kind, local_time, status_badge
from apps.core.models import OutboundOperation, SyncLog
from apps.core.selectors import platform_health

# The health page summarises the outbox and the audit log: who may read
# both may read it.
PLATFORM_HEALTH_MODELS = (OutboundOperation, SyncLog)


# A breaker's state for a manager: what it means, in words and a tone.
BREAKER_STATES = {
    "closed": (_("closed: calls go through"), "ok"),
    "half_open": (_("half-open: trying one call"), "warning"),
    "open": (_("open: calls are held back"), "error"),
}


def breaker_badge(state: str) -> str:
    label, tone = BREAKER_STATES.get(state, (state, "pending"))
    return status_badge(state, label, tone)


class HubAdminSite(admin.AdminSite):
    site_header = _("Workforce integration hub")
    # The hub has no public site: Django's "View site" link (to "/") led to a 404.
    site_url = None
    site_title = _("Integration hub")
    index_title = _("Back-office")

    def get_urls(self):
        urls = [path("platform-health/", self.admin_view(self.platform_health_view),
                     name="platform-health"),
                # Before the apps' patterns: "core/" would otherwise take it for a
                # model. The object is named in the query (?type=&id=): ids may hold "/".
                path("core/entity/", self.admin_view(self.entity_view), name="core_entity")]
        for pattern in super().get_urls():
            if getattr(pattern, "name", None) == "view_on_site":
                # Django's shortcut finds any object by its ids, whoever asks.
                pattern = path(str(pattern.pattern), self.admin_view(self.view_on_site),
                               name="view_on_site")
            urls.append(pattern)
        return urls

    def has_model_view_permission(self, request, model) -> bool:
        """What the model's change list asks for: its view (or change) permission."""
        model_admin = self._registry.get(model)
        if model_admin is not None:
            return model_admin.has_view_permission(request)
        opts = model._meta
        return any(request.user.has_perm(f"{opts.app_label}.{get_permission_codename(a, opts)}")
                   for a in ("view", "change"))

    def has_platform_health_permission(self, request) -> bool:
        return all(self.has_model_view_permission(request, model)
                   for model in PLATFORM_HEALTH_MODELS)

    def index(self, request, extra_context=None):
        """The managers' dashboard above Django's list of every admin page."""
        # Only the index uses the dashboard's selectors and charts.
        from apps.core.dashboard import dashboard_context

        context = {"can_view_platform_health": self.has_platform_health_permission(request),
                   **dashboard_context(request), **(extra_context or {})}
        return super().index(request, context)

    def app_index(self, request, app_label, extra_context=None):
        # Only registered apps reach this page, so an empty list means the user
        # may see nothing in it: that is a refusal, not a missing page.
        if not self.get_app_list(request, app_label):
            raise PermissionDenied
        return super().app_index(request, app_label, extra_context)

    def view_on_site(self, request, content_type_id, object_id):
        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except (ContentType.DoesNotExist, ValueError):
            model = None
        # An unknown type is refused like a forbidden one: the answer tells nothing.
        if model is None or not self.has_model_view_permission(request, model):
            raise PermissionDenied
        return contenttype_views.shortcut(request, content_type_id, object_id)

    def entity_view(self, request):
        """The admin page of an object named as the outbox and the audit trail
        name it (`?type=<entity type>&id=<entity id>`), for a reader who may see
        that model."""
        entity_type, entity_id = request.GET.get("type", ""), request.GET.get("id", "")
        kind = entity_kind(entity_type)
        # An unknown type is refused like a forbidden one: the answer tells nothing.
        if kind is None or not self.has_model_view_permission(request, kind.model):
            raise PermissionDenied
        url = entity_change_url(entity_type, entity_id) if entity_id else None
        if url is None:
            raise Http404(_("No %(type)s %(id)s in the hub.")
                          % {"type": entity_type, "id": entity_id})
        return HttpResponseRedirect(url)

    def platform_health_view(self, request):
        if not self.has_platform_health_permission(request):
            raise PermissionDenied
        platforms = platform_health()
        rows = [(p, breaker_badge(p.breaker_state), local_time(p.last_success_at)
                 if p.last_success_at else _("never")) for p in platforms]
        context = {**self.each_context(request), "title": _("Platform health"),
                   "platforms": platforms, "rows": rows}
        return TemplateResponse(request, "admin/core/platform_health.html", context)
