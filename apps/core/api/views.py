"""Endpoints every deployment has: token issue and health."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.errors import error_body
from apps.core.api.permissions import is_manager
from apps.core.api.throttling import AddressRateThrottle
from apps.core.models import ApiToken, Heartbeat


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenView(APIView):
    """Exchange a username and password for an API token (shown once)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
                   403: OpenApiResponse(description="The account may not use the API.")},
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Unable to log in with the given credentials.")]})
        if not is_manager(user):
            # A token would only ever be refused: the API is for Managers and Admins.
            return Response(error_body("permission_denied", _(
                "This account may not use the API; ask an administrator to add it to the "
                "Manager group.")), status=403)
        _token, key = ApiToken.issue(user)
        return Response({"token": key}, status=201)


def healthz(request):
    """Whether the database takes a write and the broker answers, for load balancers
    and monitors. A read alone would pass while the database refuses every write
    (locked, full disk, read-only replica)."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", **checks},
                        status=200 if healthy else 503)


HEARTBEAT_NAME = "healthz"


def _check_database() -> str:
    try:
        now = timezone.now()
        if not Heartbeat.objects.filter(name=HEARTBEAT_NAME).update(beat_at=now):
            Heartbeat.objects.get_or_create(name=HEARTBEAT_NAME, defaults={"beat_at": now})
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_broker() -> str:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
