"""MY TUNICLAIM API views: validate input, call one service, serialise the result."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import CountAheadPagination
from apps.core.api.parsers import DECIMAL_PARSERS
from apps.core.api.strict import StrictQueryParamsMixin
from apps.tuniclaim import imports, selectors, services
from apps.tuniclaim.api import serializers as s
from apps.tuniclaim.models import Bordereau, BulletinSoin

# -- sync -------------------------------------------------------------------------------------


class SyncView(StrictQueryParamsMixin, APIView):
    parser_classes = DECIMAL_PARSERS

    @extend_schema(request=s.SyncStartInputSerializer, responses={
        202: s.SyncStartedSerializer,
        409: OpenApiResponse(description=_(
            "`SYNC_RUN_BUSY`: an import was finishing at that very moment; try again.")),
    })
    def post(self, request):
        """Import from MY TUNICLAIM now, in a worker. While an import runs, the
        answer is that one (`started` false) and nothing else starts."""
        data = s.SyncStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run, started = imports.import_trigger(full=data.validated_data["full"],
                                              user=request.user)
        return Response(s.SyncStartedSerializer(run, context={"started": started}).data,
                        status=status.HTTP_202_ACCEPTED)


class SyncStatusView(StrictQueryParamsMixin, APIView):
    @extend_schema(responses=s.ImportStatusSerializer)
    def get(self, request):
        """The link's health, the import running now and the last imports."""
        return Response(s.ImportStatusSerializer(selectors.import_status()).data)


# -- pushes -----------------------------------------------------------------------------------

_PUSH_ERRORS = {
    404: OpenApiResponse(description=_("`not_found`: no bulletin de soin has this `bs_id`.")),
}


def _bulletin(bs_id: int) -> BulletinSoin:
    bulletin = selectors.bulletin_get(bulletin_id=bs_id)
    if bulletin is None:
        raise NotFound(_("No bulletin de soin has this id."))
    return bulletin


def _bulletin_accepted(bulletin: BulletinSoin) -> Response:
    return Response(s.BulletinDetailSerializer(_bulletin(bulletin.pk)).data,
                    status=status.HTTP_202_ACCEPTED)


class PushStatusView(StrictQueryParamsMixin, APIView):
    parser_classes = DECIMAL_PARSERS

    @extend_schema(request=s.PushStatusInputSerializer, responses={
        202: s.BulletinDetailSerializer, **_PUSH_ERRORS,
        409: OpenApiResponse(description=_(
            "`invalid_status_transition`: the BS's current status does not allow this one; "
            "nothing changes.")),
    })
    def post(self, request):
        """Decide a BS's status here; MY TUNICLAIM is told through the outbox,
        after the BS's earlier pushes."""
        data = s.PushStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bulletin = services.bs_status_change(bulletin=_bulletin(data.validated_data["bs_id"]),
                                             status=data.validated_data["status"],
                                             user=request.user)
        return _bulletin_accepted(bulletin)


class PushPaymentView(StrictQueryParamsMixin, APIView):
    parser_classes = DECIMAL_PARSERS

    @extend_schema(request=s.PushPaymentInputSerializer, responses={
        202: s.BulletinDetailSerializer, **_PUSH_ERRORS,
        409: OpenApiResponse(description=_(
            "`invalid_payment_transition`: the BS's current payment status does not allow "
            "this one; nothing changes.")),
    })
    def post(self, request):
        """Record a BS's payment here; MY TUNICLAIM is told through the outbox,
        after the BS's earlier pushes."""
        data = s.PushPaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        bulletin = _bulletin(values.pop("bs_id"))
        bulletin = services.bs_payment_update(bulletin=bulletin, user=request.user, **values)
        return _bulletin_accepted(bulletin)


# -- bordereaux and bulletins ---------------------------------------------------------------


class BordereauFilter(django_filters.FilterSet):
    client = django_filters.CharFilter(help_text=_("A client's code."))
    status = django_filters.ChoiceFilter(choices=Bordereau.Status.choices)
    received_from = django_filters.DateFilter(help_text=_("Received on or after (YYYY-MM-DD)."))
    received_to = django_filters.DateFilter(help_text=_("Received on or before (YYYY-MM-DD)."))

    class Meta:
        model = Bordereau
        fields = ["client", "status", "received_from", "received_to"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # The selector's query itself (the view's queryset is its unfiltered
        # form): filtering by ids of a subquery would cost a second scan.
        return selectors.bordereaux_filtered(**self.form.cleaned_data)


class BulletinFilter(django_filters.FilterSet):
    client = django_filters.CharFilter(help_text=_("A client's code."))
    bordereau = django_filters.ModelChoiceFilter(queryset=Bordereau.objects.all(),
                                                 help_text=_("A bordereau's id here."))
    status = django_filters.ChoiceFilter(choices=BulletinSoin.Status.choices)
    payment_status = django_filters.ChoiceFilter(choices=BulletinSoin.PaymentStatus.choices)
    created_from = django_filters.DateFilter(
        help_text=_("Created (at MY TUNICLAIM) on or after (YYYY-MM-DD)."))
    created_to = django_filters.DateFilter(
        help_text=_("Created (at MY TUNICLAIM) on or before (YYYY-MM-DD)."))

    class Meta:
        model = BulletinSoin
        fields = ["client", "bordereau", "status", "payment_status", "created_from",
                  "created_to"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return selectors.bulletins_filtered(**self.form.cleaned_data)


class BordereauViewSet(StrictQueryParamsMixin, mixins.ListModelMixin,
                       mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bordereaux as imported from MY TUNICLAIM, newest received first."""

    queryset = selectors.bordereaux_filtered()
    serializer_class = s.BordereauOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = BordereauFilter
    pagination_class = CountAheadPagination


class BulletinViewSet(StrictQueryParamsMixin, mixins.ListModelMixin,
                      mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulletins de soin, by bordereau then number; one shows its care acts."""

    queryset = selectors.bulletins_filtered()
    filter_backends = [DjangoFilterBackend]
    filterset_class = BulletinFilter
    pagination_class = CountAheadPagination

    def get_serializer_class(self):
        return s.BulletinDetailSerializer if self.action == "retrieve" else (
            s.BulletinOutputSerializer)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        return selectors.bulletin_items_prefetched(queryset) if self.action == "retrieve" else (
            queryset)
