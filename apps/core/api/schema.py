"""The OpenAPI schema as a client needs it (drf-spectacular).

`HubAutoSchema` adds to every operation the error answers it can really
give, each in the API's error shape (apps/core/api/errors.py), so a client
generated from the schema knows what it may be refused and how. They are
derived from what the view is (authentication, permissions, throttles, path
parameters, writes on a model) rather than declared view by view, so a new
domain's endpoints are documented the same way with no extra code. A view
that declares an error status itself keeps its description; the body is
filled in when it gave none.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions, serializers
from rest_framework.settings import api_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# drf-spectacular's description of a response declared with no serializer (`503: None`).
NO_BODY = _("No response body")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=_("What went wrong, stable for programs: `validation_error`, `not_found`, "
                    "`throttled`, or a service's own code such as `invalid_status`."))
    message = serializers.CharField(help_text=_("The same, for people."))
    details = serializers.JSONField(
        help_text=_("For a validation error, the problems per field (`non_field_errors` for "
                    "the request as a whole); otherwise what the code needs, or `{}`."))
    request_id = serializers.CharField(
        help_text=_("Also in the `X-Request-ID` header and in our logs: quote it to support."))

    class Meta:
        ref_name = "ErrorDetail"


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "Error"


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# Why each status may be answered, shown to the client as its description.
ERROR_DESCRIPTIONS = {
    "400": _("The request is invalid (a field, a query parameter or the body) or breaks a "
             "business rule; `details` says which."),
    "401": _("No valid credentials: a missing, unknown or revoked token."),
    "403": _("Authenticated, but not allowed to use this endpoint."),
    "404": _("No such object, no such page of the list, or nothing at this address."),
    "409": _("The object's current state, or an existing record, does not allow this."),
    "415": _("The body's Content-Type is not one this endpoint reads (JSON, form or "
             "multipart), or the body does not match it."),
    "429": _("Too many requests; `details.retry_after_seconds` and the `Retry-After` header "
             "say when to try again."),
    # Only where a view declares them (`responses={503: None}`): answered by views that
    # call a platform while the client waits, which nothing in the view itself reveals.
    "502": _("The platform refused the request; `details` carries what it said."),
    "503": _("The platform did not answer (down, or its circuit is open); try again later."),
}


class HubAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        error_content = {"application/json": {"schema": self.resolve_serializer(
            ErrorSerializer, "response").ref}}
        for status in self._error_statuses(operation):
            responses.setdefault(status, {"description": str(ERROR_DESCRIPTIONS[status])})
        for status, response in responses.items():
            # A view's own error response without a body: ours is the body it has.
            if status.startswith(("4", "5")) and "content" not in response:
                response["content"] = error_content
                if response.get("description") in ("", str(NO_BODY)) and (
                        status in ERROR_DESCRIPTIONS):
                    response["description"] = str(ERROR_DESCRIPTIONS[status])
        return operation

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        search_fields = getattr(self.view, "search_fields", None)
        if not search_fields:
            return parameters
        # DRF's description ("A search term.") leaves a client guessing where it looks.
        where = ", ".join(field.lstrip("^=@$").replace("__", " ").replace("_", " ")
                          for field in search_fields)
        for parameter in parameters:
            if parameter.get("name") == api_settings.SEARCH_PARAM:
                parameter["description"] = gettext(
                    "Words to find (each one, case-insensitively, in any of: %(where)s)."
                ) % {"where": where}
        return parameters

    def _error_statuses(self, operation: dict[str, Any]) -> list[str]:
        view = self.view
        statuses = ["400"]  # a service may refuse any request, and input is checked strictly
        if view.get_authenticators():
            statuses.append("401")  # a wrong token is refused even where anyone may call
        if any(not isinstance(p, permissions.AllowAny) for p in view.get_permissions()):
            statuses.append("403")
        if any(param.get("in") == "path" for param in operation.get("parameters", [])) or (
                self._is_list_view() and self._get_paginator() is not None):
            statuses.append("404")  # DRF answers a page past the last one with 404
        if self.method not in SAFE_METHODS and getattr(view, "queryset", None) is not None:
            statuses.append("409")  # writes on our objects go through state-checking services
        if self.method in BODY_METHODS:
            # DRF reads the body of these (even an action that takes none, to refuse it).
            statuses.append("415")
        if view.get_throttles():
            statuses.append("429")
        return statuses


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.core.api.authentication.HashedTokenAuthentication"
    # The same key under either scheme: two definitions, either one suffices.
    name = ["tokenAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"tokenAuth": []}, {"bearerAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "Authorization",
             "description": gettext("`Token <key>`, the key from POST /api/auth/token/.")},
            {"type": "http", "scheme": "bearer",
             "description": gettext("`Bearer <key>`, the same key as `tokenAuth`.")},
        ]
