"""Dimona API views: validate input, call one service, serialise the result."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch
from django.utils.translation import gettext
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.filters import SearchFilter
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.attention_views import NeedsAttentionFilterSet
from apps.core.api.strict import StrictQueryParamsMixin, no_input
from apps.core.api.throttling import AddressRateThrottle, ThrottleBeforeAuthenticationMixin
from apps.dimona import services
from apps.dimona.api import serializers as s
from apps.dimona.models import DimonaDeclaration, Employer, Shift, Worker
from apps.dimona.selectors import shifts_with_attention


class EmployerViewSet(StrictQueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    queryset = Employer.objects.all()
    serializer_class = s.EmployerSerializer
    filter_backends = [DjangoFilterBackend, SearchFilter]
    search_fields = ["name", "enterprise_number"]

    # The serializer checks the input; the services save it.
    def perform_create(self, serializer):
        serializer.instance = services.employer_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.employer_update(employer=serializer.instance,
                                                       **serializer.validated_data)


class WorkerViewSet(StrictQueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    viewsets.GenericViewSet):
    queryset = Worker.objects.all()
    serializer_class = s.WorkerOutputSerializer
    filter_backends = [DjangoFilterBackend, SearchFilter]
    # Names only: the national number is encrypted, so no LIKE can find it.
    search_fields = ["first_name", "last_name"]

    @extend_schema(request=s.WorkerInputSerializer, responses={201: s.WorkerOutputSerializer})
    def create(self, request):
        data = s.WorkerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        worker = services.worker_create(**data.validated_data)
        return Response(s.WorkerOutputSerializer(worker).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WorkerNamesSerializer, responses=s.WorkerOutputSerializer)
    def partial_update(self, request, pk=None):
        worker = self.get_object()
        data = s.WorkerNamesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        worker = services.worker_update_names(worker=worker, **data.validated_data)
        return Response(s.WorkerOutputSerializer(worker).data)


class ShiftFilter(NeedsAttentionFilterSet):
    class Meta:
        model = Shift
        fields = ["status", "employer", "worker"]


class ShiftViewSet(StrictQueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    queryset = (shifts_with_attention().with_parties()
                .prefetch_related(Prefetch("declarations",
                                           DimonaDeclaration.objects.order_by("created_at"))))
    serializer_class = s.ShiftOutputSerializer
    filterset_class = ShiftFilter
    filter_backends = [DjangoFilterBackend, SearchFilter]
    search_fields = ["worker__first_name", "worker__last_name", "employer__name"]

    def _shift_response(self, shift: Shift, code: int = status.HTTP_200_OK) -> Response:
        shift = self.get_queryset().get(pk=shift.pk)
        return Response(s.ShiftOutputSerializer(shift).data, status=code)

    @extend_schema(request=s.ShiftInputSerializer, responses={201: s.ShiftOutputSerializer})
    def create(self, request):
        data = s.ShiftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shift = services.shift_create(**data.validated_data)
        return self._shift_response(shift, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ShiftOutputSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        no_input(request)
        return self._shift_response(services.shift_accept(shift=self.get_object()))

    @extend_schema(request=None, responses=s.ShiftOutputSerializer)
    @action(detail=True, methods=["post"])
    def declare(self, request, pk=None):
        no_input(request)
        shift = self.get_object()
        services.shift_declare(shift=shift)
        return self._shift_response(shift)

    @extend_schema(request=s.CancelInputSerializer, responses=s.ShiftOutputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = s.CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shift = self.get_object()
        services.shift_cancel(shift=shift, reason=data.validated_data["reason"])
        return self._shift_response(shift)

    @extend_schema(request=None, responses=s.ShiftOutputSerializer)
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        no_input(request)
        shift = self.get_object()
        services.shift_mark_no_show(shift=shift)
        return self._shift_response(shift)

    @extend_schema(request=s.ClockInInputSerializer, responses=s.ShiftOutputSerializer)
    @action(detail=True, methods=["post"], url_path="clock-in")
    def clock_in(self, request, pk=None):
        data = s.ClockInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shift = services.shift_clock_in(shift=self.get_object(), at=data.validated_data.get("at"))
        return self._shift_response(shift)

    @extend_schema(request=s.HoursInputSerializer, responses=s.ShiftOutputSerializer)
    @action(detail=True, methods=["post"], url_path="validate-hours")
    def validate_hours(self, request, pk=None):
        data = s.HoursInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shift = self.get_object()
        services.shift_validate_hours(shift=shift, **data.validated_data)
        return self._shift_response(shift)


class DeclarationViewSet(StrictQueryParamsMixin, viewsets.ReadOnlyModelViewSet):
    queryset = DimonaDeclaration.objects.all()
    serializer_class = s.DeclarationOutputSerializer
    filterset_fields = ["shift", "status", "kind", "result"]

    @extend_schema(request=None, responses=s.DeclarationOutputSerializer)
    @action(detail=True, methods=["post"])
    def poll(self, request, pk=None):
        no_input(request)
        declaration = services.declaration_poll_now(declaration=self.get_object())
        declaration.refresh_from_db()
        return Response(s.DeclarationOutputSerializer(declaration).data,
                        status=status.HTTP_202_ACCEPTED)


class CronSecretAuthentication(BaseAuthentication):
    """`Authorization: Bearer <CRON_SECRET>`, for a scheduler outside the hub."""

    def authenticate(self, request):
        secret = settings.CRON_SECRET
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if not secret or scheme != "Bearer" or not hmac.compare_digest(given.strip(), secret):
            raise AuthenticationFailed(gettext("A valid cron secret is required."))
        return AnonymousUser(), "cron"

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="cron"'


class CronSecretScheme(OpenApiAuthenticationExtension):
    target_class = CronSecretAuthentication
    name = "cronSecret"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The CRON_SECRET setting."}


class HasCronSecret(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.auth == "cron"


class CronView(ThrottleBeforeAuthenticationMixin, StrictQueryParamsMixin, APIView):
    """Run the evening job (Dimona-In for tomorrow's shifts) now."""

    authentication_classes = [CronSecretAuthentication]
    permission_classes = [HasCronSecret]
    # Every attempt counts, wrong secrets included: the secret cannot be guessed by speed.
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "cron"

    @extend_schema(request=None, responses={200: dict})
    def post(self, request):
        no_input(request)
        declarations = services.tomorrow_declare()
        return Response({"declared": len(declarations),
                         "declaration_ids": [d.pk for d in declarations]})
