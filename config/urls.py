from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.api.errors import json_handler404, json_handler500
from apps.core.api.views import TokenView, healthz
from apps.symphonics.webhooks import receive as symphonics_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/dimona/", include("apps.dimona.api.urls")),
    path("api/symphonics/", include("apps.symphonics.api.urls")),
    path("api/webhooks/symphonics/", symphonics_webhook, name="symphonics-webhook"),
]


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_handler404(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_handler500(request)
    from django.views.defaults import server_error

    return server_error(request)
