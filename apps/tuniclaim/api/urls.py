"""The MY TUNICLAIM API, included at /api/tuniclaim/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.tuniclaim.api import views

# SimpleRouter: no API root view, which would answer /api/tuniclaim/ itself.
router = SimpleRouter()
router.register("bordereaux", views.BordereauViewSet, basename="tuniclaim-bordereau")
router.register("bulletins", views.BulletinViewSet, basename="tuniclaim-bulletin")

urlpatterns = [
    path("sync/", views.SyncView.as_view(), name="tuniclaim-sync"),
    path("sync/status/", views.SyncStatusView.as_view(), name="tuniclaim-sync-status"),
    path("push-status/", views.PushStatusView.as_view(), name="tuniclaim-push-status"),
    path("push-payment/", views.PushPaymentView.as_view(), name="tuniclaim-push-payment"),
    *router.urls,
]
