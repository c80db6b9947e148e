"""Removing secrets and personal data from what is logged.

Everything written to SyncLog or a log line goes through `redact()`: values
under sensitive keys are masked, and explicit secret values (an SSIN, a
token) are scrubbed wherever they appear in free text. A body whose keys
cannot be read (not JSON, JSON cut short, not a form) is masked by pattern.
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
    else:
        # Not JSON (or JSON cut short by a fault) and not a form: the keys
        # cannot be read, so whatever looks like a credential is masked.
        text = mask_secret_patterns(text, sensitive_keys)
    text = scrub(text, secret_values)
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more chars]"


def _redact_form(text: str, keys: frozenset[str]) -> str:
    pairs = []
    for pair in text.split("&"):
        name, sep, value = pair.partition("=")
        pairs.append(f"{name}{sep}{mask(value) if is_sensitive(name, keys) else value}")
    return "&".join(pairs)


# In text that could not be parsed, a name is sensitive when its normalised
# form contains one of these ("accessToken", "x_api_key", "client-secret")...
_SENSITIVE_FRAGMENTS = (
    "token", "secret", "password", "passwd", "apikey", "privatekey", "assertion",
    "credential", "authorization", "cookie", "signature", "nationalnumber",
)
# ...or one of these as a word of its own: as fragments they would also hide
# "processingStatus" or "missing".
_SENSITIVE_WORDS = frozenset({"ssin", "inss", "niss", "key"})
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# A quoted name and its value, in JSON or a Python repr. The quoted value
# runs to its closing quote or, in a body cut short, to the end of the text.
_QUOTED_ENTRY = re.compile(
    r"""(?P<head>(?P<q>["'])(?P<name>[^"'\\\r\n]{1,100})(?P=q)\s*:\s*)"""
    r"""(?:(?P<vq>["'])(?P<text>(?:(?!(?P=vq))[^\\]|\\.)*)|(?P<number>-?\d[\d.]*))"""
)
# name=value in a form, a query string or a sentence ("access_token=...").
_NAME_VALUE = re.compile(
    r"""(?<![\w.-])(?P<name>[A-Za-z][\w.-]{0,99})=(?P<value>[^&\s"'<>,;)]*)""")
# An Authorization header's credentials quoted in text; a short lowercase
# word is prose ("Basic information"), not a credential.
_AUTH_SCHEME = re.compile(
    r"\b(?P<scheme>bearer|basic)\s+(?![a-z]{1,19}(?![\w\-.~+/=]))(?P<value>[\w\-.~+/]+=*)",
    re.IGNORECASE,
)
# A JWT (its header is base64url JSON, so it starts "eyJ"), also cut short
# after the payload began.
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]*(?:\.[\w-]*)?")


def _is_sensitive_name(name: str, keys: frozenset[str]) -> bool:
    normalised = normalise_key(name)
    if is_sensitive(name, keys) or any(part in normalised for part in _SENSITIVE_FRAGMENTS):
        return True
    return not _SENSITIVE_WORDS.isdisjoint(w.lower() for w in _NAME_WORDS.findall(name))


def mask_secret_patterns(text: str,
                         sensitive_keys: frozenset[str] = DEFAULT_SENSITIVE_KEYS) -> str:
    """Mask what looks like a credential in text whose structure is unknown:
    values of sensitive quoted keys and of sensitive name=value pairs,
    Bearer and Basic credentials, and JWTs."""

    def entry(match: re.Match) -> str:
        if not _is_sensitive_name(match["name"], sensitive_keys):
            return match[0]
        if match["number"] is not None:
            return match["head"] + mask(match["number"])
        return match["head"] + match["vq"] + mask(match["text"])

    def pair(match: re.Match) -> str:
        if not _is_sensitive_name(match["name"], sensitive_keys):
            return match[0]
        return f"{match['name']}={mask(match['value'])}"

    text = _QUOTED_ENTRY.sub(entry, text)
    text = _NAME_VALUE.sub(pair, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m['scheme']} {mask(m['value'], visible=0)}", text)
    return _JWT.sub(lambda m: mask(m[0]), text)


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
