"""The browser tests' check that a page in French shows no English interface text.

It runs on pages of the live hub in test_manager_day.py; here, what it counts
as English and where it looks, on a stand-in page and a throw-away catalogue.
"""

from __future__ import annotations

import polib

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


def test_it_counts_an_untranslated_or_fuzzy_msgid_as_english(tmp_path):
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Poll the platform now", msgstr=""))
    catalogue.append(polib.POEntry(msgid="Keep our side", msgstr="Garder la nôtre",
                                   flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="Take their side", msgstr="Prendre la leur"))
    po_file = tmp_path / "django.po"
    catalogue.save(str(po_file))

    assert untranslated_phrases(po_file) == {"Poll the platform now", "Keep our side"}
