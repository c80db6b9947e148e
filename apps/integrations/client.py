"""Each provider's API on the core platform client: what connecting and testing
an integration need (who the account is), its Platform policy and error shapes.

The client of a connection is `client_for(connection, platform=...)`: its
OAuth tokens (apps.integrations.providers registered the providers with the
core), breaker, rate limits and audit rows come with it. The sync engine adds
the calendar, chat and meeting calls here.

Who the account is:
  Google     GET GOOGLE_USERINFO_URL (OpenID Connect userinfo: email, name, picture)
  Microsoft  GET {MICROSOFT_API_URL}/me (mail or userPrincipalName, displayName)
  Slack      POST {SLACK_API_URL}/auth.test (team, user, bot): Slack gives a
             bot token no e-mail, so the account is the workspace
  Zoom       GET {ZOOM_API_URL}/users/me (email, display_name, pic_url)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.translation import gettext

from apps.core.audit import LogContext
from apps.core.breaker import BreakerPolicy
from apps.core.connections import client_for, connection_record_error
from apps.core.http import ErrorInfo, PermanentError, Platform, PlatformClient, RetryPolicy
from apps.core.models import Connection
from apps.core.ratelimit import RateLimit
from apps.integrations.providers import GOOGLE, MICROSOFT, SLACK, ZOOM

logger = logging.getLogger(__name__)

# Slack answers every refusal with HTTP 200 and {"ok": false, "error": ...};
# these mean the token itself is no good, so the connection is broken.
SLACK_TOKEN_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive",
                                "not_authed", "token_expired"})


def google_error(response: requests.Response) -> ErrorInfo:
    """Google's {"error": {"code", "message", "errors": [{"reason"}], "status"}}:
    the reason (usageLimits' rateLimitExceeded...) is the code worth keeping."""
    try:
        body = response.json()
    except ValueError:
        return ErrorInfo(message=response.text[:300].strip())
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        reasons = [item.get("reason") for item in error.get("errors") or []
                   if isinstance(item, dict) and item.get("reason")]
        return ErrorInfo(code=str(reasons[0] if reasons else error.get("status") or ""),
                         message=str(error.get("message") or ""), details=error.get("errors"))
    if isinstance(error, str):  # the OAuth endpoints' shape (userinfo)
        return ErrorInfo(code=error, message=str(body.get("error_description") or error))
    return ErrorInfo(message=str(body)[:300])


def zoom_error(response: requests.Response) -> ErrorInfo:
    """Zoom's {"code": 124, "message": ...} (and its OAuth endpoints' {"reason", "error"})."""
    try:
        body = response.json()
    except ValueError:
        # Zoom has been seen answering XML: the text is what there is.
        return ErrorInfo(message=response.text[:300].strip())
    if not isinstance(body, dict):
        return ErrorInfo(message=str(body)[:300])
    if "code" in body:
        return ErrorInfo(code=str(body["code"]), message=str(body.get("message") or ""),
                         details=body.get("errors"))
    return ErrorInfo(code=str(body.get("error") or ""),
                     message=str(body.get("reason") or body.get("error") or ""))


def google_platform() -> Platform:
    # 600 requests a minute per user and project, Google's default quota
    # (developers.google.com/workspace/calendar/api/guides/quota).
    return Platform(name=GOOGLE, base_url=settings.GOOGLE_API_URL,
                    rate_limits=(RateLimit(limit=600, seconds=60),),
                    breaker=BreakerPolicy(failure_threshold=5, cooldown_seconds=60),
                    retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=20.0),
                    error_parser=google_error, remote_request_id_header="X-Goog-Request-Id")


def microsoft_platform() -> Platform:
    # Outlook resources: 10,000 requests per 10 minutes per app and mailbox.
    return Platform(name=MICROSOFT, base_url=settings.MICROSOFT_API_URL,
                    rate_limits=(RateLimit(limit=10_000, seconds=600),),
                    breaker=BreakerPolicy(failure_threshold=5, cooldown_seconds=60),
                    retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=20.0),
                    remote_request_id_header="request-id")


def slack_platform() -> Platform:
    # Slack limits each method by its tier per workspace; auth.test is far
    # above what a connection test needs, and the per-channel pace of
    # chat.postMessage belongs to the notifications that post.
    return Platform(name=SLACK, base_url=settings.SLACK_API_URL,
                    breaker=BreakerPolicy(failure_threshold=5, cooldown_seconds=60),
                    retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=20.0))


def zoom_platform() -> Platform:
    # Pro plan, "Light" APIs (users/me, meeting reads): 30 requests a second.
    return Platform(name=ZOOM, base_url=settings.ZOOM_API_URL,
                    rate_limits=(RateLimit(limit=30, seconds=1),),
                    breaker=BreakerPolicy(failure_threshold=5, cooldown_seconds=60),
                    retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=20.0),
                    error_parser=zoom_error, remote_request_id_header="x-zm-trackingid")


PLATFORMS: dict[str, Callable[[], Platform]] = {
    GOOGLE: google_platform, MICROSOFT: microsoft_platform, SLACK: slack_platform,
    ZOOM: zoom_platform,
}


def api_client(connection: Connection) -> PlatformClient:
    """The provider's API client of this connection (its OAuth tokens included)."""
    return client_for(connection, platform=PLATFORMS[connection.platform]())


def _log(connection: Connection, action: str) -> LogContext:
    return LogContext(action=action, entity_type="connection", entity_id=str(connection.pk))


@dataclass(frozen=True)
class AccountInfo:
    """Who the connection acts as, in our words."""

    email: str
    name: str
    avatar: str
    # The provider's own id of the account (Google's sub, Graph's id, Slack's
    # team id, Zoom's user id), as received.
    external_id: str


def account_info(connection: Connection) -> AccountInfo:
    """Ask the provider who the connection's account is (one request)."""
    client = api_client(connection)
    if connection.platform == GOOGLE:
        body = client.get(settings.GOOGLE_USERINFO_URL,
                          log=_log(connection, "google.userinfo")).json()
        return AccountInfo(email=str(body.get("email") or ""), name=str(body.get("name") or ""),
                           avatar=str(body.get("picture") or ""),
                           external_id=str(body.get("sub") or ""))
    if connection.platform == MICROSOFT:
        body = client.get("/me", log=_log(connection, "microsoft.me")).json()
        return AccountInfo(
            email=str(body.get("mail") or body.get("userPrincipalName") or ""),
            name=str(body.get("displayName") or ""),
            # Graph serves the photo as bytes (/me/photo/$value), not as a URL.
            avatar="", external_id=str(body.get("id") or ""))
    if connection.platform == SLACK:
        body = slack_call(client, connection, "auth.test", idempotent=True)
        team, user = str(body.get("team") or ""), str(body.get("user") or "")
        return AccountInfo(email="", name=f"{team} ({user})" if user else team, avatar="",
                           external_id=str(body.get("team_id") or ""))
    if connection.platform == ZOOM:
        body = client.get("/users/me", log=_log(connection, "zoom.users.me")).json()
        name = body.get("display_name") or " ".join(
            part for part in (body.get("first_name"), body.get("last_name")) if part)
        return AccountInfo(email=str(body.get("email") or ""), name=str(name or ""),
                           avatar=str(body.get("pic_url") or ""),
                           external_id=str(body.get("id") or ""))
    raise ValueError(f"no API client for {connection.platform}")


def slack_call(client: PlatformClient, connection: Connection, method: str,
               data: dict[str, str] | None = None, *, idempotent: bool = False) -> dict:
    """A Slack Web API method; its {"ok": false} answers raised as PermanentError.

    Slack refuses a revoked or unknown token with HTTP 200, which the core
    client counts as a success, so the connection is put in error here.
    """
    response = client.post(f"/{method}", data=data or {}, idempotent=idempotent,
                           log=_log(connection, f"slack.{method}"))
    try:
        body = response.json()
    except ValueError as exc:
        raise PermanentError(gettext("Slack's answer to %(method)s is not JSON.")
                             % {"method": method}, platform=SLACK,
                             status_code=response.status_code) from exc
    if not isinstance(body, dict) or body.get("ok") is not True:
        code = str(body.get("error") if isinstance(body, dict) else "") or "unknown_error"
        if code in SLACK_TOKEN_ERRORS:
            connection_record_error(connection=connection, reason=gettext(
                "Slack refused the token (%(code)s); connect the workspace again.")
                % {"code": code})
        raise PermanentError(f"Slack refused {method}: {code}", platform=SLACK,
                             status_code=response.status_code,
                             error=ErrorInfo(code=code, message=code), response=response)
    return body
