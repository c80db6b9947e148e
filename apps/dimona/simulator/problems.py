"""Error bodies, shaped like the ONSS gateway shapes them.

The REST layer answers `application/problem+json` (RFC 9457) with the
standard problem types of the Belgif REST guide; the texts below are the
guide's own. The OAuth token endpoint is the exception: it answers plain
RFC 6749 JSON errors (`{"error", "error_description"}`, see oauth.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from apps.core.simulator import SimResponse

PROBLEM_JSON = "application/problem+json"
BELGIF_PROBLEMS = "https://www.belgif.be/specification/rest/api-guide/problems/"
ISSUE_TYPE_PREFIX = "urn:problem-type:belgif:input-validation:"

# Written into WWW-Authenticate; the real realm is not known, any value works for clients.
REALM = "ONSS"


@dataclass(frozen=True)
class Issue:
    """One entry of a Belgif badRequest `issues` list."""

    kind: str  # schemaViolation, unknownInput, invalidStructure, ...
    name: str  # dotted path in the body, e.g. "dimonaIn.startHour"
    detail: str
    value: Any = None
    location: str = "body"

    def to_json(self) -> dict[str, Any]:
        payload = {"type": ISSUE_TYPE_PREFIX + self.kind, "in": self.location, "name": self.name}
        if self.value is not None:
            payload["value"] = self.value
        payload["detail"] = self.detail
        return payload


@dataclass
class BadRequest(Exception):
    """Raised by payload validation; becomes a 400 badRequest problem."""

    issues: list[Issue] = field(default_factory=list)
    detail: str = "The input message is incorrect"


def problem(
    status: int,
    name: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> SimResponse:
    """A Belgif standard problem (`urn:problem-type:belgif:<name>`)."""
    body = {
        "type": f"urn:problem-type:belgif:{name}",
        "href": f"{BELGIF_PROBLEMS}{name}.html",
        "status": status,
        "title": title,
        "detail": detail,
        **extra,
    }
    return SimResponse.json(status, body, headers=headers, content_type=PROBLEM_JSON)


def generic_problem(status: int, detail: str) -> SimResponse:
    """A status without a Belgif type: RFC 9457 says `about:blank` + the reason phrase."""
    body = {"type": "about:blank", "status": status, "title": _reason(status), "detail": detail}
    return SimResponse.json(status, body, content_type=PROBLEM_JSON)


def bad_request(error: BadRequest) -> SimResponse:
    issues = [issue.to_json() for issue in error.issues]
    extra = {"issues": issues} if issues else {}
    return problem(400, "badRequest", "Bad Request", error.detail, **extra)


def no_access_token() -> SimResponse:
    return problem(
        401, "noAccessToken", "No Access Token",
        "No Bearer access token found in Authorization HTTP header",
        headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
    )


def invalid_access_token() -> SimResponse:
    return problem(
        401, "invalidAccessToken", "Invalid Access Token",
        "The Bearer access token found in the Authorization HTTP header is invalid",
        headers={"WWW-Authenticate": _bearer_challenge("The access token is invalid")},
    )


def expired_access_token() -> SimResponse:
    return problem(
        401, "expiredAccessToken", "Expired Access Token",
        "The Bearer access token found in the Authorization HTTP header has expired",
        headers={"WWW-Authenticate": _bearer_challenge("The access token expired")},
    )


def missing_scope(required: str) -> SimResponse:
    return problem(
        403, "missingScope", "Missing Scope",
        "Forbidden to consult this resource with the scopes of this access token",
        requiredScopes=[required],
    )


def missing_permission(enterprise_number: str) -> SimResponse:
    # The v1 API documentation's own words for this 403.
    return problem(
        403, "missingPermission", "Missing Permission",
        f"Forbidden, you can't send a declaration for this employer ({enterprise_number}).",
    )


def resource_not_found(detail: str) -> SimResponse:
    return problem(404, "resourceNotFound", "Resource Not Found", detail)


def no_data_for(resource: str, key: str, value: str) -> SimResponse:
    """The Belgif wording for a missing resource, e.g. an unknown declaration id."""
    return resource_not_found(f"No data found for {resource} with {key} [{value}]")


def too_many_requests(retry_after: int) -> SimResponse:
    return problem(
        429, "tooManyRequests", "Too Many Requests",
        "Too many requests sent, retry later", retryAfterSec=retry_after,
        headers={"Retry-After": str(retry_after)},
    )


def server_error(status: int) -> SimResponse:
    if status == 503:
        return problem(503, "serviceUnavailable", "Service Unavailable",
                       "The service is temporarily unavailable")
    if status == 500:
        return problem(500, "internalServerError", "Internal Server Error",
                       "An unexpected error occurred")
    return generic_problem(status, "Injected server error")


def _bearer_challenge(description: str) -> str:
    return f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
