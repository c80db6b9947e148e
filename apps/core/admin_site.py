"""The hub's admin site: the default one plus the platform health page."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from apps.core.selectors import platform_health


class HubAdminSite(admin.AdminSite):
    site_header = "Workforce integration hub"
    site_title = "Integration hub"
    index_title = "Back-office"

    def get_urls(self):
        extra = [path("platform-health/", self.admin_view(self.platform_health_view),
                      name="platform-health")]
        return extra + super().get_urls()

    def platform_health_view(self, request):
        context = {**self.each_context(request), "title": "Platform health",
                   "platforms": platform_health()}
        return TemplateResponse(request, "admin/core/platform_health.html", context)
