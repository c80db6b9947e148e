"""Free text refuses control characters: one line refuses them all, notes keep line breaks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.core.validators import single_line_error, validate_multi_line, validate_single_line

# Every Unicode control character (category Cc): C0, DEL and C1.
CONTROL_CHARACTERS = [chr(code) for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)]]
LINE_BREAKS_AND_TAB = ["\t", "\n", "\r"]


@pytest.mark.parametrize("character", CONTROL_CHARACTERS,
                         ids=[f"U+{ord(c):04X}" for c in CONTROL_CHARACTERS])
def test_it_refuses_every_control_character_in_a_single_line(character):
    with pytest.raises(ValidationError) as refused:
        validate_single_line(f"Mar{character}tin")

    assert refused.value.code == "control_character"
    assert refused.value.messages == [
        f"Remove the control character U+{ord(character):04X} at position 4: this field "
        "takes one line of text, without tabs or line breaks."]


@pytest.mark.parametrize("value", ["a\u2028b", "a\u2029b", "a\ud800b"],
                         ids=["line-separator", "paragraph-separator", "lone-surrogate"])
def test_it_refuses_unicode_line_breaks_and_lone_surrogates_in_a_single_line(value):
    with pytest.raises(ValidationError):
        validate_single_line(value)


@pytest.mark.parametrize("value", [
    "", "Thomas Martin", "Frituur 't Hoekske", "Saint-Étienne", "Ørsted Ünal Łódź",
    "北京市", "Régulateur Thaléos RT-2000", "Jean 🙂", "a\u00a0b",
])
def test_it_accepts_printable_text_in_any_script(value):
    validate_single_line(value)
    validate_multi_line(value)
    assert single_line_error(value) is None


@pytest.mark.parametrize("character", LINE_BREAKS_AND_TAB, ids=["tab", "lf", "cr"])
def test_it_keeps_tabs_and_line_breaks_in_notes(character):
    validate_multi_line(f"First line{character}second line\r\n")


@pytest.mark.parametrize(
    "character", [c for c in CONTROL_CHARACTERS if c not in LINE_BREAKS_AND_TAB],
    ids=[f"U+{ord(c):04X}" for c in CONTROL_CHARACTERS if c not in LINE_BREAKS_AND_TAB])
def test_it_refuses_other_control_characters_in_notes(character):
    with pytest.raises(ValidationError) as refused:
        validate_multi_line(f"Line one\nline{character}two")

    assert refused.value.messages == [
        f"Remove the control character U+{ord(character):04X} at position 14: only tabs "
        "and line breaks are allowed."]


def test_it_gives_the_message_without_raising():
    assert single_line_error("\u001bÖ") == (
        "Remove the control character U+001B at position 1: this field takes one line of "
        "text, without tabs or line breaks.")
