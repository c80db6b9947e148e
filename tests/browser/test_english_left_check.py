"""The browser tests' check that a page in French shows no English interface text.

It runs on pages of the live hub in test_manager_day.py; here, what it counts
as English and where it looks, on a stand-in page and a throw-away catalogue.
"""

from __future__ import annotations

import re
from pathlib import Path

import polib
from django.conf import settings

from tests.browser.pages import english_left, english_phrases, phrases_of, untranslated_phrases


class TextPage:
    """A page whose body shows `text`, laid out in lines as a browser would."""

    def __init__(self, text: str) -> None:
        self.text = text

    def locator(self, selector: str) -> TextPage:
        assert selector == "body"
        return self

    def inner_text(self) -> str:
        return self.text


def test_it_keeps_the_fixed_parts_of_a_msgid_and_drops_scraps():
    assert phrases_of("%(config)s: the platform's bookings are read now (run %(run)s).") == [
        ": the platform's bookings are read now (run"]
    assert phrases_of("{count} conflict(s) resolved.") == ["conflict(s) resolved."]
    # A single word may be a name or the same in French; a scrap may be French too.
    assert phrases_of("Status") == []
    assert phrases_of("%(a)s is in %(b)s") == []


def test_it_looks_for_the_translated_msgids_of_the_catalogue_django_serves():
    phrases = english_phrases("fr")

    assert "Poll now" in phrases  # ours
    assert "Log out" in phrases  # Django's admin
    assert "Status" not in phrases


def test_it_finds_english_left_on_a_french_page_line_by_line():
    page = TextPage("Configurations de plateforme\nInterroger maintenant\nPoll now\nLog\nout")

    # "Log" and "out" are two lines (two labels), not the phrase "Log out".
    assert english_left(page, "fr") == ["Poll now"]
    assert english_left(TextPage("Interroger   maintenant\nDéconnexion"), "fr") == []


def test_it_leaves_out_what_a_platform_wrote_whole_or_cut_short():
    notes = "Additional proof required: a document was rejected"
    page = TextPage(f"{notes}\nJustificatif : Additional proof r…\nPoll now: {notes}")

    # Its words are data; ours around them ("Poll now") are still looked for.
    assert english_left(page, "fr", platform_text=[notes]) == ["Poll now"]
    assert "Additional proof required" in english_left(page, "fr")


def test_it_counts_an_untranslated_or_fuzzy_msgid_as_english(tmp_path):
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Poll the platform now", msgstr=""))
    catalogue.append(polib.POEntry(msgid="Keep our side", msgstr="Garder la nôtre",
                                   flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="Take their side", msgstr="Prendre la leur"))
    po_file = tmp_path / "django.po"
    catalogue.save(str(po_file))

    assert untranslated_phrases(po_file) == {"Poll the platform now", "Keep our side"}


def test_no_msgid_of_our_catalogues_holds_an_escape_the_code_does_not_write():
    # "\u201c" in Python source is the character itself; a catalogue whose key
    # holds the six characters never matches it, and the page shows English.
    escaped = re.compile(r"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}")
    for po_file in sorted((Path(settings.BASE_DIR) / "locale").glob("*/LC_MESSAGES/*.po")):
        keys = [entry.msgid for entry in polib.pofile(str(po_file))
                if escaped.search(entry.msgid) or escaped.search(entry.msgid_plural or "")]
        assert not keys, f"{po_file}: {keys}"
