"""One error shape for every 4xx/5xx of the API:

    {"error": {"code": "...", "message": "...", "details": ..., "request_id": "..."}}

DRF exceptions go through `exception_handler`; Django-level errors under
/api/ (unknown URL, crash) through `json_handler404` / `json_handler500`;
domain services raise `ServiceError`, which maps to a 400 (or its status).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.context import current_request_id
from apps.core.errors import ServiceError

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "details": details if details is not None else {},
                      "request_id": current_request_id()}}


def error_response(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors":
                                                                        exc.messages}
        exc = exceptions.ValidationError(details)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a crash: Django's handler500 answers, in the same shape
    response.data = error_body(_code_for(exc), _message_for(exc), _details_for(exc))
    return response


def _code_for(exc: Exception) -> str:
    # Strict input errors (apps.core.api.strict) carry a code of their own.
    if getattr(exc, "error_code", None):
        return exc.error_code
    for cls, code in _DRF_CODES.items():
        if isinstance(exc, cls):
            return code
    return getattr(exc, "default_code", "error")


def _message_for(exc: Exception) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return gettext("The request is invalid; see details.")
    detail = getattr(exc, "detail", None)
    return str(detail) if detail is not None else str(exc)


def _details_for(exc: Exception) -> Any:
    if isinstance(exc, exceptions.ValidationError):
        return exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        return {"retry_after_seconds": int(exc.wait)}
    return {}


def json_handler404(request, exception=None):
    return error_response(404, "not_found",
                          gettext("No endpoint at %(path)s.") % {"path": request.path})


def json_handler500(request):
    return error_response(500, "server_error", gettext("Unexpected error; it has been logged."))
