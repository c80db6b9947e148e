from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.symphonics.api import views

router = DefaultRouter()
router.register("interventions", views.InterventionViewSet)

urlpatterns = [
    # Before the PDL route, which would otherwise take "lookup" for a PDL.
    path("validate/pdl/lookup/", views.PdlLookupView.as_view(), name="symphonics-pdl-lookup"),
    path("validate/pdl/<str:pdl>/", views.PdlValidationView.as_view(),
         name="symphonics-pdl-validate"),
    path("validate/user/<str:email>/", views.UserValidationView.as_view(),
         name="symphonics-user-validate"),
    *router.urls,
]
