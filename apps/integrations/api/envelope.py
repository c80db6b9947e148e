"""The seed's answer shape, for /api/integrations/ and /api/events/ only:

    {"success": true, "data": ..., "meta": ...}
    {"success": false, "error": {"code", "message", "details", "request_id"}}

The rest of the hub keeps the core's shape, so this is scoped to these views:
a renderer wraps what a view returns, an exception handler (the core's,
then the seed's codes) shapes what it refuses, and a schema class documents
both. The error's `request_id` and messages are the core's
(apps/core/api/errors.py).

The seed's codes used by the hub itself:
- `PERMISSION_DENIED` (403): not a Manager or Admin (Admin for analytics);
- `RATE_LIMIT_EXCEEDED` (429): the hub's own API throttle;
- `INTEGRATION_NOT_FOUND` (404): no integration of the user's organisation
  has this id (another organisation's included: it does not exist for them);
- `CONNECTION_ERROR` (503), `INVALID_CREDENTIALS` (502), `API_QUOTA_EXCEEDED`
  (503): a call to the provider made while the client waits failed: it did
  not answer, refused the stored credentials, or said its quota is spent;
- `PROVIDER_NOT_SUPPORTED`, `OAUTH_ERROR`, `SYNC_FAILED`, `WEBHOOK_FAILED`:
  raised by the services as `ServiceError`s with their own status.
Validation errors keep the core's codes (`validation_error`,
`unknown_field`, `unknown_query_parameter`...) with `details` per field.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.core.api.errors import error_body
from apps.core.api.errors import exception_handler as core_exception_handler
from apps.core.api.schema import ErrorDetailSerializer, HubAutoSchema
from apps.core.connections import CredentialsUnreadable
from apps.core.http import PermanentError, PlatformError

INTEGRATION_NOT_FOUND = "INTEGRATION_NOT_FOUND"
PROVIDER_NOT_SUPPORTED = "PROVIDER_NOT_SUPPORTED"
OAUTH_ERROR = "OAUTH_ERROR"
PERMISSION_DENIED = "PERMISSION_DENIED"
RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
SYNC_FAILED = "SYNC_FAILED"
CONNECTION_ERROR = "CONNECTION_ERROR"
INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
WEBHOOK_FAILED = "WEBHOOK_FAILED"
API_QUOTA_EXCEEDED = "API_QUOTA_EXCEEDED"
SEED_CODES = (INTEGRATION_NOT_FOUND, PROVIDER_NOT_SUPPORTED, OAUTH_ERROR, PERMISSION_DENIED,
              RATE_LIMIT_EXCEEDED, SYNC_FAILED, CONNECTION_ERROR, INVALID_CREDENTIALS,
              WEBHOOK_FAILED, API_QUOTA_EXCEEDED)
# The core's codes of DRF's refusals that the seed names otherwise.
RENAMED = {"permission_denied": PERMISSION_DENIED, "throttled": RATE_LIMIT_EXCEEDED}


def _platform_refusal(exc: PlatformError) -> tuple[int, str, str]:
    """A provider's failure during a request, as the seed's code and our status."""
    status = exc.status_code
    # Google answers a spent quota with 403 and a reason such as quotaExceeded,
    # dailyLimitExceeded or (user)rateLimitExceeded; the others with 429.
    said = f"{exc.error.code} {exc.error.message}".lower()
    if status == 429 or (status == 403 and ("quota" in said or "limit" in said)):
        return 503, API_QUOTA_EXCEEDED, gettext(
            "The provider's API quota is spent for now; try again later.")
    if isinstance(exc, PermanentError) and status in (400, 401):
        return 502, INVALID_CREDENTIALS, gettext(
            "The provider refused the stored credentials; connect the integration again.")
    return 503, CONNECTION_ERROR, gettext(
        "The provider could not be reached or did not answer; try again later.")


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, CredentialsUnreadable):
        body = error_body(INVALID_CREDENTIALS, gettext(
            "The stored credentials cannot be read; connect the integration again."))
        return Response({"success": False, **body}, status=502)
    if isinstance(exc, PlatformError):
        status, code, message = _platform_refusal(exc)
        details = {"provider_status": exc.status_code, "provider_error": exc.error.code or ""}
        response = Response({"success": False, **error_body(code, message, details)},
                            status=status)
        if exc.retry_after:
            response["Retry-After"] = str(int(exc.retry_after))
        return response
    response = core_exception_handler(exc, context)
    if response is None:
        return None
    error = response.data["error"]
    error["code"] = RENAMED.get(error["code"], error["code"])
    response.data = {"success": False, "error": error}
    return response


class EnvelopeRenderer(JSONRenderer):
    """Wraps a success in `{"success": true, "data": ..., "meta": ...}` (`meta`
    only when the view set `response.meta`); an error is already shaped."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and not (isinstance(data, dict) and "success" in data):
            if response.status_code >= 400:
                # A refusal that did not pass through our handler (none known): shape it.
                data = {"success": False, **(data if isinstance(data, dict) else
                                             {"error": data})}
            elif response.status_code != 204:
                data = {"success": True, "data": data,
                        **({"meta": response.meta} if getattr(response, "meta", None)
                           is not None else {})}
        return super().render(data, accepted_media_type, renderer_context)


def answer(data: Any, *, status: int = 200, meta: dict[str, Any] | None = None) -> Response:
    response = Response(data, status=status)
    response.meta = meta
    return response


# -- schema -----------------------------------------------------------------------------------

class EnvelopeErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text=_("Always false."))
    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "IntegrationsError"


class PageMetaSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    totalPages = serializers.IntegerField()

    class Meta:
        ref_name = "IntegrationsPageMeta"


def enveloped(serializer: type[serializers.Serializer] | serializers.Serializer, name: str,
              *, paged: bool = False) -> serializers.Serializer:
    """The schema of `{"success": true, "data": <serializer>[, "meta": page]}`."""
    fields = {"success": serializers.BooleanField(help_text=_("Always true.")),
              "data": serializer() if isinstance(serializer, type) else serializer}
    if paged:
        fields["meta"] = PageMetaSerializer()
    return inline_serializer(name=f"{name}Envelope", fields=fields)


class EnvelopeAutoSchema(HubAutoSchema):
    """The core's error statuses, with the seed's error body."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error_content = {"application/json": {"schema": self.resolve_serializer(
            EnvelopeErrorSerializer, "response").ref}}
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                response["content"] = error_content
        return operation

