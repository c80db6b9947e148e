"""The Integrations API, included at /api/integrations/, at the seed's paths (no
trailing slash, as its clients call them and as `statusUrl` gives them)."""

from django.urls import path

from apps.integrations.api import views, webhook_views

urlpatterns = [
    path("", views.IntegrationListView.as_view(), name="integrations-list"),
    path("analytics/metrics", views.MetricsView.as_view(), name="integrations-metrics"),
    path("webhooks", webhook_views.WebhooksView.as_view(), name="integrations-webhooks"),
    path("webhooks/test", webhook_views.WebhookTestView.as_view(),
         name="integrations-webhooks-test"),
    path("webhooks/deliveries", webhook_views.WebhookDeliveriesView.as_view(),
         name="integrations-webhooks-deliveries"),
    path("<int:integration_id>", views.IntegrationDetailView.as_view(),
         name="integrations-detail"),
    path("<int:integration_id>/settings", views.SettingsView.as_view(),
         name="integrations-settings"),
    path("<int:integration_id>/history", views.HistoryView.as_view(),
         name="integrations-history"),
    path("<int:integration_id>/test", views.TestView.as_view(), name="integrations-test"),
    path("<int:integration_id>/sync", views.SyncView.as_view(), name="integrations-sync"),
    path("<int:integration_id>/sync/<int:sync_id>/status", views.SyncStatusView.as_view(),
         name="integrations-sync-status"),
    path("<str:provider>/connect", views.ConnectView.as_view(), name="integrations-connect"),
    path("<str:provider>/callback", views.CallbackView.as_view(),
         name="integrations-callback"),
]
