"""Checks on free text before it is stored or sent to a platform.

A platform's parser is rarely as tolerant as ours: an escape character in a
joint commission got 23 Dimonas refused. Text a person types has no use for
control characters, so they are refused where the text enters, never
silently stripped: the person sees what was wrong. As model field
validators they reach the admin forms and the serializers built from the
models; a domain's own pre-send check of a payload uses `single_line_error`
to report them with its other problems.

Refused in a single line: every Unicode control character (category Cc:
U+0000-U+001F, U+007F-U+009F, which includes tab, line feed, carriage return
and NEL), the line and paragraph separators U+2028 and U+2029, and lone
surrogates (which JSON can carry but UTF-8 cannot encode, so the database
and the platforms would choke on them). Multi-line text (notes) allows tab,
line feed and carriage return, and refuses the rest.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Category Cc is fixed by Unicode's stability policy, so a character class
# is exact and much cheaper than unicodedata.category() per character.
_CONTROL = "\x00-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_LINE_SEPARATORS = "\u2028\u2029"

_SINGLE_LINE_FORBIDDEN = re.compile(f"[{_CONTROL}{_SURROGATES}{_LINE_SEPARATORS}]")
_MULTI_LINE_FORBIDDEN = re.compile(f"[{_SURROGATES}\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

SINGLE_LINE_MESSAGE = _(
    "Remove the control character %(character)s at position %(position)s: "
    "this field takes one line of text, without tabs or line breaks.")
MULTI_LINE_MESSAGE = _(
    "Remove the control character %(character)s at position %(position)s: "
    "only tabs and line breaks are allowed.")


def _refuse(match: re.Match[str] | None, message: str, code: str) -> None:
    if match is None:
        return
    raise ValidationError(message, code=code, params={
        "character": f"U+{ord(match.group()):04X}",
        # Counted from 1, as a person counts characters.
        "position": match.start() + 1,
    })


def validate_single_line(value: str) -> None:
    """A name, an address, an identifier: printable text on one line."""
    _refuse(_SINGLE_LINE_FORBIDDEN.search(value or ""), SINGLE_LINE_MESSAGE,
            "control_character")


def validate_multi_line(value: str) -> None:
    """Notes: line breaks and tabs are fine, other control characters are not."""
    _refuse(_MULTI_LINE_FORBIDDEN.search(value or ""), MULTI_LINE_MESSAGE,
            "control_character")


def single_line_error(value: str) -> str | None:
    """The message `validate_single_line` would raise for `value`, or None."""
    try:
        validate_single_line(value)
    except ValidationError as exc:
        return exc.messages[0]
    return None
