"""Writing the audit trail (SyncLog). Services write, selectors read."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from apps.core.context import current_request_id
from apps.core.models import SyncLog
from apps.core.redaction import DEFAULT_SENSITIVE_KEYS, redact, redact_query, scrub

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogContext:
    """What an exchange is about, for the audit trail."""

    action: str
    entity_type: str = ""
    entity_id: str = ""
    context: str = ""
    operation_id: int | None = None
    # Values to scrub wherever they appear (an SSIN in a URL, an e-mail...).
    secrets: tuple[str, ...] = field(default=(), repr=False)


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
    """Store one exchange. Callers pass bodies already redacted; headers,
    URL and error text are redacted here as a second line of defence (the
    URL's query string and an exception's text quoting it included)."""
    secrets = [s for s in log.secrets if s]
    return SyncLog.objects.create(
        platform=platform,
        context=log.context[:120],
        entity_type=log.entity_type[:60],
        entity_id=scrub(str(log.entity_id), secrets)[:120],
        direction=direction,
        action=log.action[:120],
        status=status,
        http_method=http_method,
        url=scrub(redact_query(url, sensitive_keys), secrets)[:500],
        http_status=http_status,
        request_headers=redact(request_headers or {}, sensitive_keys=sensitive_keys,
                               secrets=secrets),
        request_body=scrub(request_body, secrets),
        response_headers=redact(response_headers or {}, sensitive_keys=sensitive_keys,
                                secrets=secrets),
        response_body=scrub(response_body, secrets),
        error=scrub(redact_query(error, sensitive_keys), secrets)[:4000],
        attempt=attempt,
        retry_count=retry_count,
        next_retry_at=next_retry_at,
        duration_ms=duration_ms,
        request_id=current_request_id(),
        remote_request_id=remote_request_id[:100],
        operation_id=log.operation_id,
    )
