"""The RestoSync API, included at /api/: restaurants and platform configurations
under /api/restosync/, the local entities at the paths the issue names, and the
pushes' "retry now" at /api/sync/retry/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.restosync.api import views

# SimpleRouter: no API root view, which would answer /api/ itself.
router = SimpleRouter()
router.register("restosync/restaurants", views.RestaurantViewSet, basename="restosync-restaurant")
router.register("restosync/platform-configs", views.PlatformConfigViewSet,
                basename="restosync-platform-config")
router.register("restosync/conflicts", views.ConflictViewSet, basename="restosync-conflict")
router.register("reservations", views.ReservationViewSet, basename="restosync-reservation")
router.register("dining-services", views.DiningServiceViewSet, basename="restosync-service")
router.register("offers", views.OfferViewSet, basename="restosync-offer")
router.register("rooms", views.RoomViewSet, basename="restosync-room")
router.register("tables", views.TableViewSet, basename="restosync-table")

urlpatterns = [
    path("sync/retry/", views.PushRetryView.as_view(), name="restosync-push-retry"),
    *router.urls,
]
