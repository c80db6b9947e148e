"""Logging filters on every handler: the request id on each record, secrets masked.

Attached to the handlers (not the loggers), so the JSON and the text output
both get them, and so does gunicorn's own logging (apps/core/logging.py).
"""

import logging

from apps.core.context import current_request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # A record may name its own (gunicorn's access line names the one the
        # application answered with, after the request's context is gone).
        if getattr(record, "request_id", ""):
            return True
        # Django logs a 4xx/5xx answer (django.request) once the middleware
        # has left, with the request in the record: its id is still on it.
        request_id = current_request_id() or getattr(getattr(record, "request", None),
                                                     "request_id", "")
        record.request_id = request_id or "-"
        return True


class SecretMaskingFilter(logging.Filter):
    """Masks what looks like a credential in the message and the traceback.

    A message is rendered once here, with its arguments, so a token passed as
    an argument is masked too; the record then carries the rendered text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Imported here: gunicorn's master loads this module before Django is set up.
        from apps.core.redaction import mask_secret_patterns

        if isinstance(record.msg, str):
            record.msg = mask_secret_patterns(record.getMessage())
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secret_patterns(record.exc_text)
            # The formatters print exc_text when exc_info is gone, and would
            # print the unmasked traceback again when it is not.
            record.exc_info = None
        return True
