"""The project's URLs plus what only tests need: a webhook source and API views
that fail in each way an API can."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import path
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ServiceError
from apps.core.webhooks import webhook_view
from config import urls as project_urls
from tests.core.webhook_source import (
    FAILING_CHANNEL,
    HEADER_ID_SOURCE,
    SHOUTING_SOURCE,
    SOURCE,
    STAMPED_SOURCE,
)

# Django looks the error handlers up on the root URLconf.
handler404 = project_urls.handler404
handler500 = project_urls.handler500


class WhoAmIView(APIView):
    """Default authentication and permissions: managers only."""

    def get(self, request):
        return Response({"username": request.user.get_username()})


class MissingThingView(APIView):
    def get(self, request, pk):
        raise NotFound(f"No thing {pk}.")


class RefusingView(APIView):
    """A service refusing the request, as domain services do."""

    def get(self, request):
        raise ServiceError("shift_locked", "The shift is already declared.",
                           details={"shift": 42}, status=409)

    def post(self, request):
        raise ValidationError({"starts_at": ["Must be in the future."]})


class CrashingView(APIView):
    def get(self, request):
        raise RuntimeError("an unexpected bug")


def crashing_django_view(request):
    raise RuntimeError("an unexpected bug outside DRF")


urlpatterns = [
    *project_urls.urlpatterns,
    path("api/test/whoami/", WhoAmIView.as_view()),
    path("api/test/things/<int:pk>/", MissingThingView.as_view()),
    path("api/test/refuse/", RefusingView.as_view()),
    path("api/test/crash/", CrashingView.as_view()),
    path("api/test/crash-django/", crashing_django_view),
    path("webhooks/testhook/", webhook_view(SOURCE)),
    path("webhooks/shouthook/", webhook_view(SHOUTING_SOURCE)),
    path("webhooks/idhook/", webhook_view(HEADER_ID_SOURCE)),
    path("webhooks/stamphook/", webhook_view(STAMPED_SOURCE)),
    path("webhooks/failhook/", webhook_view(FAILING_CHANNEL)),
]
