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


# Celery: the request id travels with a task in this message header, so the
# work a request enqueued logs (and audits) under the request's id.
TASK_HEADER = "hub_request_id"
_task_tokens: dict[str, contextvars.Token] = {}


def task_headers_add_request_id(headers: dict | None = None, **_signal_kwargs) -> None:
    """`before_task_publish`: the current request id into the message's headers."""
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def task_context_enter(task_id: str = "", task=None, **_signal_kwargs) -> None:
    """`task_prerun`: the id the message carries; else, when the task runs eagerly
    inside a request, that request's; else the task's own id."""
    carried = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if carried:
        request_id = clean_request_id(carried)
    else:
        request_id = current_request_id() or clean_request_id(task_id)
    _task_tokens[task_id] = set_request_id(request_id)


def task_context_exit(task_id: str = "", **_signal_kwargs) -> None:
    """`task_postrun` (sent whether the task succeeded or failed)."""
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        reset_request_id(token)
