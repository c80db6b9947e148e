"""Log lines as JSON (or text for humans), all timed in UTC, in every process.

Django (web), Celery (worker and beat) and gunicorn (its error and access
logs) use the same formatters, chosen by the LOG_FORMAT setting, so every
line of a deployment carries an ISO-8601 UTC time with its offset and the
request id, whichever process wrote it. Django sets the process time zone
to TIME_ZONE (Brussels) while gunicorn's master keeps the machine's: the
time is therefore always formatted from the record's epoch in UTC, never
from the process's local time.

This module is imported by gunicorn's master before Django is set up: it
imports nothing from Django at module level.
"""

from __future__ import annotations

import logging
import logging.config
import os
from datetime import UTC, datetime

from gunicorn.glogging import Logger as GunicornBaseLogger
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from apps.core.log_filters import RequestIdFilter, SecretMaskingFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
LOG_FORMATS = ("json", "text")


def utc_timestamp(created: float) -> str:
    """2026-03-29T01:30:00.123+00:00: unambiguous across DST changes and zones."""
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds")


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: time, level, logger, request_id, message, extras."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("rename_fields", JSON_RENAMES)
        super().__init__(JSON_FIELDS, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_timestamp(record.created)


class TextFormatter(logging.Formatter):
    """The same fields on one readable line, for a developer's terminal."""

    def __init__(self, **kwargs) -> None:
        super().__init__(TEXT_FORMAT, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_timestamp(record.created)


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_from_settings(**_signal_kwargs) -> None:
    """Celery's `setup_logging` receiver: the Django LOGGING, not Celery's own set-up.

    With a receiver connected, Celery leaves the root logger and the standard
    streams alone, so the worker and beat log exactly as the web does.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's error and access logs in the hub's format (`--logger-class`).

    Access lines keep gunicorn's own message (its `%(t)s` in UTC too) and, in
    JSON, carry the request as fields, with the request id the application
    answered in X-Request-ID.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        # Read here, in the master, before the application (and Django) is loaded.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        from django.conf import settings

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(formatter_for(settings.LOG_FORMAT))
                    if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
                        handler.addFilter(RequestIdFilter())
                        handler.addFilter(SecretMaskingFilter())

    def now(self) -> str:
        return f"[{utc_timestamp(datetime.now(tz=UTC).timestamp())}]"

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        fields = {
            "request_id": atoms["{x-request-id}o"],
            "remote_addr": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "status": atoms["s"],
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "user_agent": atoms["a"],
        }
        try:
            self.access_log.info(self.cfg.access_log_format, atoms, extra=fields)
        except Exception:
            self.exception("access log line could not be written")
