"""Encrypted model fields and the masking helpers used in logs, admin and API.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Several keys
may be configured (FIELD_ENCRYPTION_KEYS, newest first): the first one
encrypts, every one decrypts, so keys can be rotated without downtime.
The database column only ever holds the Fernet token.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_str(value: str) -> str:
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_str(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with any key of FIELD_ENCRYPTION_KEYS."
        ) from exc


def rotate_token(token: str) -> str:
    """Re-encrypt a stored token with the first (newest) key."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed hash, so an encrypted value can still be looked up or made unique.

    The key is derived from SECRET_KEY and the purpose, so the same SSIN
    gives different hashes in different columns and cannot be brute-forced
    from the database alone.
    """
    key = hashlib.sha256(f"blind-index:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text field stored as a Fernet token; reads give back the plaintext."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_str(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_str(str(value))

    def get_lookup(self, lookup_name):
        # Fernet tokens are randomised: equality on ciphertext never matches.
        # Use a blind index column for look-ups instead.
        if lookup_name not in {"isnull"}:
            return None
        return super().get_lookup(lookup_name)


MASK = "•"


def mask(value: object, *, visible: int = 3) -> str:
    """Hide all but the last `visible` characters (none for short values)."""
    text = "" if value is None else str(value)
    if not text:
        return ""
    if visible <= 0 or len(text) <= visible * 3:
        return MASK * min(len(text), 12)
    return MASK * (len(text) - visible) + text[-visible:]


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not domain:
        return mask(value)
    return f"{local[:1]}{MASK * max(len(local) - 1, 1)}@{domain}"
