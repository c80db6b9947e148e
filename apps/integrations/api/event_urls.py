"""The Events API, included at /api/events/."""

from django.urls import path

from apps.integrations.api import views

urlpatterns = [
    path("", views.EventListView.as_view(), name="events-list"),
    path("<int:event_id>/", views.EventDetailView.as_view(), name="events-detail"),
    path("<int:event_id>/attendance/", views.AttendanceListView.as_view(),
         name="events-attendance"),
]
