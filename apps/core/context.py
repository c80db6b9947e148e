"""The request id of the work in progress, for logs and the audit trail.

Set by the request middleware for HTTP requests and by the tasks for
background work, so a SyncLog row can be traced back to what caused it.
"""

from __future__ import annotations

import contextvars
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,100}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(candidate: str | None) -> str:
    """The caller's id if it is safe to echo and log, else a fresh one."""
    # fullmatch: `$` would let a trailing newline through into the response header.
    if candidate and _SAFE_ID.fullmatch(candidate):
        return candidate
    return new_request_id()


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)
