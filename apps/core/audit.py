"""Writing the audit trail (SyncLog). Services write, selectors read.

An HTTP exchange is written twice: its row is inserted, "started", before
the request goes out (`synclog_start`), then updated with the outcome
(`synclog_finish`). A worker killed mid-call leaves its row "started", so
an exchange whose outcome nobody saw is still on record. What is not an
exchange (a call skipped by the breaker) is one row (`synclog_record`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from apps.core.context import current_request_id
from apps.core.models import SyncLog
from apps.core.redaction import (
    DEFAULT_SENSITIVE_KEYS,
    mask_secret_patterns,
    redact,
    redact_query,
    scrub,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogContext:
    """What an exchange is about, for the audit trail."""

    action: str
    entity_type: str = ""
    entity_id: str = ""
    context: str = ""
    operation_id: int | None = None
    # The connection (account) the exchange was made with; the platform
    # client fills it in for the connection it was built for.
    connection_id: int | None = None
    # Values to scrub wherever they appear (an SSIN in a URL, an e-mail...).
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # False when the response is itself a credential (a token endpoint's):
    # only its size is logged, since a body cut short cannot be redacted by key.
    keep_response_body: bool = True


def _secrets(log: LogContext) -> list[str]:
    return [s for s in log.secrets if s]


def _clean_error(error: str, secrets: list[str], sensitive_keys: frozenset[str]) -> str:
    # An exception's text may quote a URL or a header value (requests'
    # InvalidHeader quotes "Bearer ..."), whatever the caller redacted.
    return scrub(mask_secret_patterns(redact_query(error, sensitive_keys), sensitive_keys),
                 secrets)[:4000]


def synclog_start(
    *,
    platform: str,
    log: LogContext,
    direction: str,
    http_method: str,
    url: str,
    request_headers: dict | None = None,
    request_body: str = "",
    attempt: int = 1,
    sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS,
) -> SyncLog:
    """Insert an exchange's row, "started", before its request is sent.

    Call it outside any transaction that spans the request, or a killed
    worker's row is rolled back with it."""
    return _create(platform=platform, log=log, direction=direction,
                   status=SyncLog.Status.STARTED, http_method=http_method, url=url,
                   request_headers=request_headers, request_body=request_body, attempt=attempt,
                   retry_count=attempt - 1, sensitive_keys=sensitive_keys)


def synclog_finish(
    *,
    entry: SyncLog,
    log: LogContext,
    status: str,
    http_status: int | None = None,
    response_headers: dict | None = None,
    response_body: str = "",
    error: str = "",
    next_retry_at: datetime | None = None,
    duration_ms: int | None = None,
    remote_request_id: str = "",
    sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS,
) -> SyncLog:
    """Record the outcome of an exchange started with `synclog_start`.

    Callers pass the body already redacted; headers and error text are
    redacted here as a second line of defence."""
    secrets = _secrets(log)
    outcome = {
        "status": status,
        "http_status": http_status,
        "response_headers": redact(response_headers or {}, sensitive_keys=sensitive_keys,
                                   secrets=secrets),
        "response_body": scrub(response_body, secrets),
        "error": _clean_error(error, secrets, sensitive_keys),
        "next_retry_at": next_retry_at,
        "duration_ms": duration_ms,
        "remote_request_id": remote_request_id[:100],
    }
    SyncLog.objects.filter(pk=entry.pk).update(**outcome)
    for name, value in outcome.items():
        setattr(entry, name, value)
    return entry


def synclog_record(
    *,
    platform: str,
    log: LogContext,
    direction: str,
    status: str,
    http_method: str = "",
    url: str = "",
    http_status: int | None = None,
    request_headers: dict | None = None,
    request_body: str = "",
    response_headers: dict | None = None,
    response_body: str = "",
    error: str = "",
    attempt: int = 1,
    retry_count: int = 0,
    next_retry_at: datetime | None = None,
    duration_ms: int | None = None,
    remote_request_id: str = "",
    sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS,
) -> SyncLog:
    """Store one step in a single row (a skipped call, an inbound exchange).

    Callers pass bodies already redacted; headers, URL and error text are
    redacted here as a second line of defence (the URL's query string and
    an exception's text quoting it included)."""
    secrets = _secrets(log)
    return _create(
        platform=platform, log=log, direction=direction, status=status,
        http_method=http_method, url=url, http_status=http_status,
        request_headers=request_headers, request_body=request_body,
        response_headers=redact(response_headers or {}, sensitive_keys=sensitive_keys,
                                secrets=secrets),
        response_body=scrub(response_body, secrets),
        error=_clean_error(error, secrets, sensitive_keys),
        attempt=attempt, retry_count=retry_count, next_retry_at=next_retry_at,
        duration_ms=duration_ms, remote_request_id=remote_request_id[:100],
        sensitive_keys=sensitive_keys,
    )


def _create(*, platform: str, log: LogContext, url: str, request_headers: dict | None,
            request_body: str, sensitive_keys: frozenset[str], **fields: object) -> SyncLog:
    secrets = _secrets(log)
    return SyncLog.objects.create(
        platform=platform,
        context=log.context[:120],
        entity_type=log.entity_type[:60],
        entity_id=scrub(str(log.entity_id), secrets)[:120],
        action=log.action[:120],
        url=scrub(redact_query(url, sensitive_keys), secrets)[:500],
        request_headers=redact(request_headers or {}, sensitive_keys=sensitive_keys,
                               secrets=secrets),
        request_body=scrub(request_body, secrets),
        request_id=current_request_id(),
        operation_id=log.operation_id,
        connection_id=log.connection_id,
        **fields,
    )
