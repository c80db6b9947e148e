from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.api.attention_views import AttentionListView
from apps.core.api.errors import json_handler404, json_handler500
from apps.core.api.oauth_views import OAuthCallbackView, OAuthConnectView
from apps.core.api.views import TokenView, healthz
from apps.core.metrics import metrics_view
from apps.core.preferences_views import preferences_view
from apps.symphonics.webhooks import receive as symphonics_webhook

urlpatterns = [
    # Before the admin's include, whose catch-all would answer it with a 404.
    path("admin/preferences/", preferences_view, name="admin-preferences"),
    # Django's set_language: the language switcher before login.
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/attention/", AttentionListView.as_view(), name="api-attention"),
    path("api/connections/<int:connection_id>/oauth/connect/", OAuthConnectView.as_view(),
         name="oauth-connect"),
    path("api/oauth/callback/", OAuthCallbackView.as_view(), name="oauth-callback"),
    path("api/dimona/", include("apps.dimona.api.urls")),
    path("api/symphonics/", include("apps.symphonics.api.urls")),
    path("api/tuniclaim/", include("apps.tuniclaim.api.urls")),
    path("api/integrations/", include("apps.integrations.api.urls")),
    path("api/events/", include("apps.integrations.api.event_urls")),
    path("api/", include("apps.restosync.api.urls")),
    path("api/webhooks/symphonics/", symphonics_webhook, name="symphonics-webhook"),
    path("api/webhooks/", include("apps.core.api.webhook_urls")),
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
