"""Connecting an account by OAuth: send the user to the provider, take the answer back.

Both views stay thin: `oauth_start` and `oauth_complete` (apps.core.oauth)
do the work and raise `ServiceError("OAUTH_ERROR")`, answered 400 in the
API's error shape.
"""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.strict import StrictQueryParamsMixin
from apps.core.errors import ServiceError
from apps.core.models import Connection
from apps.core.oauth import OAUTH_ERROR, oauth_complete, oauth_start

# What the provider may say in place of a code (RFC 6749 §4.1.2.1); kept
# short in our answer since it is text of the provider's (or anyone's) choosing.
PROVIDER_TEXT_LIMIT = 200

_error_response = OpenApiResponse(description="`OAUTH_ERROR` in the API's error shape.")


class OAuthConnectView(StrictQueryParamsMixin, APIView):
    """Start connecting a connection's account: the provider's sign-in page.

    Answers 302 to it, or `{"authorization_url"}` to a client that asks for
    JSON (`Accept: application/json`).
    """

    @extend_schema(
        operation_id="connection_oauth_connect",
        parameters=[OpenApiParameter("connection_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={
            200: inline_serializer("OAuthAuthorization",
                                   {"authorization_url": serializers.URLField()}),
            302: OpenApiResponse(description="To the provider's authorization page."),
            400: _error_response,
            404: OpenApiResponse(description="No such connection."),
        },
    )
    def get(self, request, connection_id: int):
        connection = get_object_or_404(Connection, pk=connection_id)
        url = oauth_start(connection=connection, user=request.user,
                          redirect_uri=request.build_absolute_uri(reverse("oauth-callback")))
        if "application/json" in request.headers.get("Accept", ""):
            return Response({"authorization_url": url})
        return HttpResponseRedirect(url)


class OAuthCallbackView(StrictQueryParamsMixin, APIView):
    """Where the provider sends the user back: the code is exchanged and the tokens stored."""

    # What an authorization server may add to the redirect beside what we
    # read, so that a provider following the standards is not refused:
    # RFC 6749 §4.1.2.1 (error_uri), RFC 9207 (iss), OpenID Connect Session
    # Management (session_state), and what Google adds (scope, authuser,
    # prompt, hd). Anything else is a 400 naming it, as elsewhere in the API.
    provider_query_params = frozenset({"error_uri", "iss", "session_state", "scope",
                                       "authuser", "prompt", "hd"})
    read_query_params = frozenset({"state", "code", "error", "error_description"})

    def allowed_query_params(self) -> set[str]:
        return super().allowed_query_params() | self.read_query_params | (
            self.provider_query_params)

    @extend_schema(
        operation_id="oauth_callback",
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, OpenApiParameter.QUERY),
            OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.QUERY),
            OpenApiParameter("error", OpenApiTypes.STR, OpenApiParameter.QUERY),
            OpenApiParameter("error_description", OpenApiTypes.STR, OpenApiParameter.QUERY),
        ],
        responses={302: OpenApiResponse(description="To the connection's admin page."),
                   400: _error_response},
    )
    def get(self, request):
        params = request.query_params
        if params.get("error"):
            raise ServiceError(
                OAUTH_ERROR,
                _("The provider did not authorize the connection: %(error)s")
                % {"error": params["error"][:PROVIDER_TEXT_LIMIT]},
                details={"provider_error": params["error"][:PROVIDER_TEXT_LIMIT],
                         "description": params.get("error_description",
                                                   "")[:PROVIDER_TEXT_LIMIT]})
        connection = oauth_complete(state=params.get("state", ""), code=params.get("code", ""),
                                    user=request.user)
        return HttpResponseRedirect(_admin_page(connection))


def _admin_page(connection: Connection) -> str:
    try:
        return reverse("admin:core_connection_change", args=[connection.pk])
    except NoReverseMatch:
        # Connections not in this admin (a trimmed deployment): its home page.
        return reverse("admin:index")
