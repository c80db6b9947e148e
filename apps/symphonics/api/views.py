"""Symphonics API views: validate input, call one service, serialise the result."""

from __future__ import annotations

from dataclasses import asdict

from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.attention_views import NeedsAttentionFilterSet
from apps.core.api.strict import StrictQueryParamsMixin, no_input
from apps.symphonics import services
from apps.symphonics.api import serializers as s
from apps.symphonics.models import Intervention
from apps.symphonics.selectors import interventions_with_details


class InterventionFilter(NeedsAttentionFilterSet):
    class Meta:
        model = Intervention
        fields = ["status", "remote_status"]


class InterventionViewSet(StrictQueryParamsMixin, mixins.ListModelMixin,
                          mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = interventions_with_details()
    serializer_class = s.InterventionOutputSerializer
    filterset_class = InterventionFilter
    filter_backends = [DjangoFilterBackend, SearchFilter]
    # Not the customer's e-mail or phone: encrypted, no LIKE can find them.
    search_fields = ["external_id", "customer_last_name", "city"]

    def _intervention_response(self, intervention: Intervention,
                               code: int = status.HTTP_200_OK) -> Response:
        intervention = self.get_queryset().get(pk=intervention.pk)
        return Response(s.InterventionOutputSerializer(intervention).data, status=code)

    @extend_schema(request=s.InterventionInputSerializer,
                   responses={201: s.InterventionOutputSerializer})
    def create(self, request):
        data = s.validated(s.InterventionInputSerializer(data=request.data))
        intervention = services.intervention_create(**data)
        return self._intervention_response(intervention, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: s.InterventionOutputSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        no_input(request)
        intervention = services.intervention_publish(intervention=self.get_object())
        return self._intervention_response(intervention, status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.AddDocumentsInputSerializer,
                   responses={202: s.InterventionOutputSerializer})
    @action(detail=True, methods=["post"], url_path="add-documents")
    def add_documents(self, request, pk=None):
        data = s.validated(s.AddDocumentsInputSerializer(data=request.data))
        intervention = self.get_object()
        services.intervention_add_documents(intervention=intervention,
                                            documents=data["documents"])
        return self._intervention_response(intervention, status.HTTP_202_ACCEPTED)


# These views ask Symphonics while the client waits: its failures are answered
# 503 (no answer, or its circuit is open) and 502 (it refused), which nothing
# in the view itself shows the schema generator. No body given: the schema's
# error shape and the standard descriptions fill them in.
_PLATFORM_ERRORS = {502: None, 503: None}


class PdlValidationView(StrictQueryParamsMixin, APIView):
    """Symphonics' answer for a PDL (valid ones are cached a few hours)."""

    @extend_schema(responses={200: s.PdlCheckOutputSerializer, **_PLATFORM_ERRORS})
    def get(self, request, pdl: str):
        check, cached = services.pdl_validate(pdl=pdl)
        return Response(s.PdlCheckOutputSerializer({**asdict(check), "cached": cached}).data)


class PdlLookupView(StrictQueryParamsMixin, APIView):
    """The PDL Symphonics finds for an address and a customer name."""

    @extend_schema(request=s.PdlLookupInputSerializer, responses={
        200: s.PdlMatchOutputSerializer,
        404: OpenApiResponse(description=_(
            "`not_found`: Symphonics finds no PDL for this address.")),
        **_PLATFORM_ERRORS,
    })
    def post(self, request):
        data = s.validated(s.PdlLookupInputSerializer(data=request.data))
        match, cached = services.pdl_lookup(**data["address"],
                                            customer_name=data["customer_name"])
        return Response(s.PdlMatchOutputSerializer({**asdict(match), "cached": cached}).data)


class UserValidationView(StrictQueryParamsMixin, APIView):
    """Whether an e-mail has a Symphonics account (existing ones are cached)."""

    @extend_schema(responses={200: s.UserCheckOutputSerializer, **_PLATFORM_ERRORS})
    def get(self, request, email: str):
        check, cached = services.user_validate(email=email)
        return Response(s.UserCheckOutputSerializer({**asdict(check), "cached": cached}).data)
