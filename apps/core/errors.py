"""Errors a domain service raises when a request breaks a business rule."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A clear refusal: the API answers it as 400 (or `status`), the admin
    shows `message` to the manager. Nothing was changed."""

    status = 400

    def __init__(self, code: str, message: str, *, details: Any = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        if status is not None:
            self.status = status
