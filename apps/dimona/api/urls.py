from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.dimona.api import views

router = DefaultRouter()
router.register("employers", views.EmployerViewSet)
router.register("workers", views.WorkerViewSet)
router.register("shifts", views.ShiftViewSet)
router.register("declarations", views.DeclarationViewSet)

urlpatterns = [path("cron/", views.CronView.as_view(), name="dimona-cron"), *router.urls]
