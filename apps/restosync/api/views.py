"""RestoSync API views: validate input, call one service, serialise the result."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.strict import StrictQueryParamsMixin, no_input
from apps.core.api.sync_runs import SyncRunSerializer
from apps.core.conflicts import conflict_resolve
from apps.core.models import Conflict
from apps.restosync import selectors, services
from apps.restosync.api import serializers as s
from apps.restosync.models import (
    ENTITY_RESERVATION,
    DiningRoom,
    DiningService,
    DiningTable,
    Offer,
    Reservation,
    Restaurant,
    SyncPlatformConfig,
)
from apps.restosync.operations import push_retries_pending, push_retries_run
from apps.restosync.polling import config_poll_request


class _ServiceBackedViewSet(StrictQueryParamsMixin, viewsets.ModelViewSet):
    """Full CRUD whose writes go through the services: the serializer checks the
    input, `create_service` / `update_service` / `delete_service` save it."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["restaurant"]
    entity: str

    def perform_create(self, serializer):
        serializer.instance = getattr(services, f"{self.entity}_create")(
            **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = getattr(services, f"{self.entity}_update")(
            **{self.entity: serializer.instance}, **serializer.validated_data)

    def perform_destroy(self, instance):
        getattr(services, f"{self.entity}_delete")(**{self.entity: instance})


class RestaurantViewSet(_ServiceBackedViewSet):
    queryset = Restaurant.objects.all()
    serializer_class = s.RestaurantSerializer
    filterset_fields = []
    entity = "restaurant"


class RoomViewSet(_ServiceBackedViewSet):
    queryset = DiningRoom.objects.all()
    serializer_class = s.RoomSerializer
    entity = "room"


class TableViewSet(_ServiceBackedViewSet):
    queryset = DiningTable.objects.all()
    serializer_class = s.TableSerializer
    filterset_fields = ["restaurant", "room"]
    entity = "table"


class DiningServiceViewSet(_ServiceBackedViewSet):
    queryset = DiningService.objects.prefetch_related("rooms")
    serializer_class = s.DiningServiceSerializer
    entity = "service"


class OfferViewSet(_ServiceBackedViewSet):
    queryset = Offer.objects.all()
    serializer_class = s.OfferSerializer
    entity = "offer"


class PlatformConfigViewSet(StrictQueryParamsMixin, viewsets.ModelViewSet):
    queryset = selectors.platform_configs_list()
    serializer_class = s.PlatformConfigOutputSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["restaurant", "platform", "is_active"]

    def _response(self, config: SyncPlatformConfig, code: int = status.HTTP_200_OK) -> Response:
        config = self.get_queryset().get(pk=config.pk)
        return Response(s.PlatformConfigOutputSerializer(config).data, status=code)

    @extend_schema(request=s.PlatformConfigCreateSerializer,
                   responses={201: s.PlatformConfigOutputSerializer})
    def create(self, request):
        data = s.PlatformConfigCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.platform_config_create(**data.validated_data, by=request.user)
        return self._response(config, status.HTTP_201_CREATED)

    @extend_schema(request=s.PlatformConfigUpdateSerializer,
                   responses=s.PlatformConfigOutputSerializer)
    def partial_update(self, request, pk=None):
        config = self.get_object()
        data = s.PlatformConfigUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.platform_config_update(config=config, **data.validated_data,
                                                 by=request.user)
        return self._response(config)

    def perform_destroy(self, instance):
        services.platform_config_delete(config=instance)

    @extend_schema(request=None, responses={
        202: s.PollStartedSerializer,
        409: OpenApiResponse(description=_(
            "`config_inactive`: the configuration is switched off; nothing is polled.")),
    })
    @action(detail=True, methods=["post"])
    def poll(self, request, pk=None):
        """Read the platform's changed bookings now (the polling fallback), in a worker."""
        no_input(request)
        config = self.get_object()
        run = config_poll_request(config=config, user=request.user)
        return Response(s.PollStartedSerializer(
            {"sync_run": run.pk, "status": run.status, "config": config.pk}).data,
            status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=SyncRunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request, pk=None):
        """The configuration's last polls, newest first: how a poll started with
        `poll/` went."""
        runs = selectors.config_poll_runs(config=self.get_object())
        return Response(SyncRunSerializer(runs, many=True).data)


class ReservationFilter(django_filters.FilterSet):
    restaurant = django_filters.ModelChoiceFilter(queryset=Restaurant.objects.all())
    date = django_filters.DateFilter(
        help_text=_("A day in the restaurant's own time zone (YYYY-MM-DD)."))
    status = django_filters.ChoiceFilter(choices=Reservation.Status.choices)

    class Meta:
        model = Reservation
        fields = ["restaurant", "date", "status"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # The day is the restaurant's local day, which one filter alone cannot say.
        data = self.form.cleaned_data
        filtered = selectors.reservations_list(restaurant=data.get("restaurant"),
                                               day=data.get("date"), status=data.get("status"))
        return queryset.filter(pk__in=filtered.values("pk"))


class ReservationViewSet(StrictQueryParamsMixin, mixins.ListModelMixin,
                         mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Reservation.objects.with_links()
    serializer_class = s.ReservationOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReservationFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "sync_states": self._sync_states}

    _sync_states = None

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        # The mappings of the whole page in one query, not one per row.
        self._sync_states = selectors.reservation_sync_states(rows)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _response(self, reservation: Reservation, code: int = status.HTTP_200_OK) -> Response:
        reservation = self.get_queryset().get(pk=reservation.pk)
        return Response(s.ReservationOutputSerializer(reservation).data, status=code)

    @extend_schema(request=s.ReservationCreateSerializer,
                   responses={201: s.ReservationOutputSerializer})
    def create(self, request):
        data = s.ReservationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reservation = services.reservation_create(**data.validated_data)
        return self._response(reservation, status.HTTP_201_CREATED)

    @extend_schema(request=s.ReservationUpdateSerializer,
                   responses=s.ReservationOutputSerializer)
    def partial_update(self, request, pk=None):
        reservation = self.get_object()
        data = s.ReservationUpdateSerializer(data=request.data,
                                             context={"reservation": reservation})
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        expected = changes.pop("version", None)
        reservation = services.reservation_update(reservation=reservation,
                                                  expected_version=expected, **changes)
        return self._response(reservation)


class ConflictViewSet(StrictQueryParamsMixin, mixins.ListModelMixin,
                      mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reservations changed here and on a platform since they last agreed. The
    list shows the open ones; an object stays readable once resolved."""

    serializer_class = s.ConflictOutputSerializer

    def get_queryset(self) -> QuerySet[Conflict]:
        # Only RestoSync's: reservations, on a connection one of our configurations owns.
        conflicts = Conflict.objects.filter(
            entity_type=ENTITY_RESERVATION,
            connection__in=SyncPlatformConfig.objects.values("connection"),
        ).select_related("connection").order_by("-created_at", "-pk")
        if self.action == "list":
            conflicts = conflicts.filter(status=Conflict.Status.OPEN)
        return conflicts

    @extend_schema(request=s.ConflictResolveSerializer, responses={
        200: s.ConflictOutputSerializer,
        409: OpenApiResponse(description=_(
            "`CONFLICT_ALREADY_RESOLVED`: someone resolved it already; nothing changes.")),
    })
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Keep ours (sent to the platform) or take theirs (applied here)."""
        data = s.ConflictResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conflict = conflict_resolve(conflict=self.get_object(),
                                    resolution=data.validated_data["resolution"],
                                    user=request.user)
        return Response(s.ConflictOutputSerializer(
            self.get_queryset().get(pk=conflict.pk)).data)


class PushRetryView(StrictQueryParamsMixin, APIView):
    """Reservation pushes waiting for a retry: how many, and "retry now"."""

    @extend_schema(responses=s.RetriesPendingSerializer)
    def get(self, request):
        return Response(s.RetriesPendingSerializer({"pending": push_retries_pending()}).data)

    @extend_schema(request=None, responses=s.RetriesRunSerializer)
    def post(self, request):
        """Run the failed pushes now rather than at their scheduled retry; each
        runs here, so the answer says how many ran."""
        no_input(request)
        ran = push_retries_run()
        return Response(s.RetriesRunSerializer(
            {"ran": ran, "pending": push_retries_pending()}).data)
