"""Removing secrets and personal data from what is logged.

Everything written to SyncLog or a log line goes through `redact()`: values
under sensitive keys are masked, and explicit secret values (an SSIN, a
token) are scrubbed wherever they appear in free text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from apps.core.fields import mask

# Compared after lower-casing and dropping "_" and "-", so "client_secret",
# "clientSecret" and "Client-Secret" all match.
DEFAULT_SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "password",
        "secret",
        "clientsecret",
        "clientassertion",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "token",
        "apikey",
        "xapikey",
        "cookie",
        "setcookie",
        "ssin",
        "inss",
        "niss",
        "nationalnumber",
        "privatekey",
    }
)

REDACTED = "[redacted]"


def normalise_key(key: str) -> str:
    return re.sub(r"[_\-\s]", "", key).lower()


def is_sensitive(key: str, sensitive_keys: Iterable[str] = DEFAULT_SENSITIVE_KEYS) -> bool:
    normalised = normalise_key(key)
    return normalised in sensitive_keys or normalised.endswith(("signature", "secret"))


def redact(
    value: Any,
    *,
    sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS,
    secrets: Iterable[str] = (),
) -> Any:
    """A copy of `value` (JSON-like) with sensitive entries masked."""
    secret_values = [s for s in secrets if s]
    return _redact(value, sensitive_keys, secret_values)


def _redact(value: Any, keys: frozenset[str], secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _redact_entry(str(k), v, keys, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, keys, secrets) for item in value]
    if isinstance(value, str):
        return scrub(value, secrets)
    return value


def _redact_entry(key: str, value: Any, keys: frozenset[str], secrets: list[str]) -> Any:
    if not is_sensitive(key, keys):
        return _redact(value, keys, secrets)
    # Scalars keep their last characters so a manager can tell them apart.
    return mask(value) if isinstance(value, str | int) else REDACTED


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Mask each secret, also where it was URL-encoded (query strings, forms)."""
    for secret in secrets:
        if not secret:
            continue
        for spelling in {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}:
            if spelling in text:
                text = text.replace(spelling, mask(secret))
    return text


def redact_body(
    body: bytes | str | None,
    content_type: str = "",
    *,
    sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS,
    secrets: Iterable[str] = (),
    limit: int = 20_000,
) -> str:
    """A loggable text version of an HTTP body, redacted and truncated."""
    if not body:
        return ""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    secret_values = [s for s in secrets if s]
    parsed: Any = None
    if "json" in content_type or text[:1] in "[{":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    if parsed is not None:
        text = json.dumps(redact(parsed, sensitive_keys=sensitive_keys, secrets=secret_values),
                          ensure_ascii=False)
    elif "x-www-form-urlencoded" in content_type:
        text = _redact_form(text, sensitive_keys)
    text = scrub(text, secret_values)
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more chars]"


def _redact_form(text: str, keys: frozenset[str]) -> str:
    pairs = []
    for pair in text.split("&"):
        name, sep, value = pair.partition("=")
        pairs.append(f"{name}{sep}{mask(value) if is_sensitive(name, keys) else value}")
    return "&".join(pairs)


# A name=value pair of a query string, wherever it appears: in a URL, or in
# an exception's text that quotes the URL.
_QUERY_PAIR = re.compile(r"(?<=[?&])([^=&#\s'\"]+)=([^&#\s'\"]*)")


def redact_query(text: str, sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS) -> str:
    """Mask the values of sensitive query parameters (`?access_token=...`) in `text`."""
    if "=" not in text:
        return text

    def replace(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        return f"{name}={mask(value)}" if is_sensitive(name, sensitive_keys) else match.group(0)

    return _QUERY_PAIR.sub(replace, text)


def redact_headers(headers: dict[str, str] | Any,
                   sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS) -> dict[str, str]:
    def redacted(name: str, value: str) -> str:
        if is_sensitive(name, sensitive_keys):
            return mask(value, visible=0)
        # A header may carry a URL with credentials in its query (Link, Location).
        return redact_query(value, sensitive_keys) if "?" in value else value

    return {name: redacted(name, value) for name, value in dict(headers or {}).items()}
