"""What a manager does in the admin, in the words the page shows them.

Labels are looked up with gettext in the language under test (the `page`
fixture activates it), from the same msgids the hub renders, so one test
serves every language.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import polib
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.sites import site
from django.utils.translation import gettext, trans_real
from playwright.sync_api import Page, expect

# Kept as files of the test run (CI keeps the directory); ignored by git.
SCREENSHOTS_DIR = Path(settings.BASE_DIR) / "test-results" / "browser"
# What Django's error pages say (its own msgids, translated like the rest).
ERROR_TITLES = ("Page not found", "Not Found", "Server Error", "Server error", "403 Forbidden")


# The interface language the hub's own strings are written in.
SOURCE_LANGUAGE = "en"
# A phrase is at least this many words of letters, and this long: a single
# word ("Status", "Dinner") may be a name in the data or the same word in both
# languages, and a scrap between placeholders (", not", "is in") may be French too.
MIN_PHRASE_WORDS = 2
MIN_PHRASE_LENGTH = 6
WORD = re.compile(r"[^\W\d_]{2,}")
# A placeholder splits a msgid into the fixed fragments a page can show.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|\{[^}]*\}")


class Screenshots:
    """`test-results/browser/<language>/<NN>-<step>.png`, numbered in the order taken.

    Given the `language` of the page, each picture is also a check that the
    page shows no English interface text when that language is not English
    (`expect_no_english`).
    """

    def __init__(self, page: Page, directory: Path, *, language: str = "") -> None:
        self.page = page
        self.directory = directory
        self.language = language
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    def take(self, step: str, *, platform_text: Iterable[str] = ()) -> Path:
        """`platform_text`: what a platform wrote that the page shows as data (see
        `english_left`)."""
        if self.language and self.language != SOURCE_LANGUAGE:
            expect_no_english(self.page, self.language, where=step,
                              platform_text=platform_text)
        self.count += 1
        path = self.directory / f"{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in on the admin's login page, as typed by a person."""
    page.goto(f"{base_url}/admin/")
    # The labels the admin's own login form gives its fields, in this language.
    fields = AdminAuthenticationForm().fields
    page.get_by_label(str(fields["username"].label)).fill(username)
    page.get_by_label(str(fields["password"].label)).fill(password)
    page.get_by_role("button", name=gettext("Log in")).click()
    expect(page.locator("#user-tools")).to_be_visible()


def assert_no_error_page(page: Page, url: str) -> None:
    """The page is not one of Django's error pages, in any language under test."""
    body = page.locator("body").inner_text()
    for title in ERROR_TITLES:
        for text in {title, gettext(title)}:
            assert text not in body, f"{url} shows {text!r}"


def phrases_of(msgid: str) -> list[str]:
    """The fixed fragments of a msgid a page can show whole (placeholders cut
    out), those long enough to be told from French (MIN_PHRASE_WORDS, MIN_PHRASE_LENGTH)."""
    fragments = (fragment.strip() for fragment in PLACEHOLDER.split(msgid))
    return [fragment for fragment in fragments
            if len(fragment) >= MIN_PHRASE_LENGTH
            and len(WORD.findall(fragment)) >= MIN_PHRASE_WORDS]


@functools.cache
def english_phrases(language: str) -> tuple[str, ...]:
    """The English phrases that must not show on a page in `language`.

    Every msgid of the catalogue Django serves (the hub's, Django's and the
    installed apps') whose translation differs from it, and every msgid of
    the hub's own catalogue left untranslated or fuzzy (a raw msgid on the
    page). A phrase that its own translation contains is left out (a name
    kept as is inside a translated sentence).
    """
    # Django's catalogue of the language, every source merged: no public API
    # lists its msgids.
    catalogue = trans_real.translation(language)._catalog
    phrases: set[str] = set()
    for msgid, translated in catalogue.items():
        # Plural forms are keyed (msgid, n); contexts are "context\x04msgid".
        if not isinstance(msgid, str) or "\x04" in msgid or msgid == translated:
            continue
        phrases.update(p for p in phrases_of(msgid) if p not in translated)
    po_file = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    phrases.update(untranslated_phrases(po_file))
    # Longest first, so a failure names the whole sentence rather than a piece of it.
    return tuple(sorted(phrases, key=len, reverse=True))


def untranslated_phrases(po_file: Path) -> set[str]:
    """The phrases of a catalogue's msgids without a translation Django would
    serve (none yet, or fuzzy): shown as they are, in English."""
    phrases: set[str] = set()
    for entry in polib.pofile(str(po_file)):
        if not entry.obsolete and (entry.fuzzy or not entry.translated()):
            phrases.update(phrases_of(entry.msgid))
            phrases.update(phrases_of(entry.msgid_plural or ""))
    return phrases


def english_left(page: Page, language: str, *, platform_text: Iterable[str] = ()) -> list[str]:
    """The English interface phrases the page shows although it is in `language`.

    Looked for line by line as the page lays its text out (a label, a cell, a
    paragraph), so the end of one label and the start of the next never make
    a phrase together.

    `platform_text`: what a platform wrote (a status note Symphonics sends in
    English) that the page rightly shows as received, as data; cut out of the
    lines first, so its words are not taken for our interface's (it may happen
    to contain one of our msgids), while the page's own words around it still are.
    """
    lines = [" ".join(line.split()) for line in page.locator("body").inner_text().splitlines()]
    texts = [" ".join(text.split()) for text in platform_text if text.strip()]
    lines = [without_platform_text(line, texts) for line in lines]
    return [phrase for phrase in english_phrases(language)
            if any(" ".join(phrase.split()) in line for line in lines)]


def without_platform_text(line: str, texts: list[str]) -> str:
    """The line with each of the platform's texts cut out, whole or, at the
    line's end, cut short as a narrow cell shows it (with or without "…")."""
    for text in texts:
        line = line.replace(text, "\n")
        shown = line.rstrip("…").rstrip()
        for length in range(len(text) - 1, MIN_PHRASE_LENGTH - 1, -1):
            if shown.endswith(text[:length]):
                line = shown[:-length] + "\n"
                break
    return line


def expect_no_english(page: Page, language: str, *, where: str = "",
                      platform_text: Iterable[str] = ()) -> None:
    """The page speaks `language`: no interface string left in English, no raw msgid
    (the platform's own text, shown as data, excepted)."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    left = english_left(page, language, platform_text=platform_text)
    assert not left, f"{where or page.url} ({language}) shows English: {left[:10]}"


def action_label(model, action: str) -> str:
    """The label of a change list's action, as its admin describes it."""
    _, _, description = site._registry[model].get_action(action)
    return str(description)


def run_list_action(page: Page, model, action: str, object_ids) -> None:
    """On the model's change list (open): tick the rows, pick the action, press Go."""
    for object_id in object_ids:
        page.locator(f'input[name="_selected_action"][value="{object_id}"]').check()
    page.locator('select[name="action"]').select_option(label=action_label(model, action))
    page.get_by_role("button", name=gettext("Go")).click()


def object_action(model, name: str):
    """The admin's declared action `name` (apps.core.admin_tools.ObjectAction)."""
    return site._registry[model].get_object_action(name)


def object_action_control(page: Page, model, name: str):
    """The action's button on the object's page (a link, if it opens a page first;
    a disabled button when the object's state does not allow it)."""
    action = object_action(model, name)
    toolbar = page.get_by_role("toolbar", name=gettext("Actions on this object"))
    role = "link" if action.opens_a_page else "button"
    return toolbar.get_by_role(role, name=str(action.label))


def press_object_action(page: Page, model, name: str) -> None:
    """Press the action's button on the object's page."""
    object_action_control(page, model, name).click()


def confirm_object_action(page: Page, model, name: str) -> None:
    """On the page an action opens first: press its confirmation button."""
    action = object_action(model, name)
    page.get_by_role("button", name=str(action.confirm_label or action.label)).click()


def expect_success(page: Page, text: str = "") -> None:
    """A success message (saying `text`, if given) and no error message."""
    expect(page.locator("ul.messagelist li.error")).to_have_count(0)
    success = page.locator("ul.messagelist li.success")
    expect(success.filter(has_text=text) if text else success.first).to_be_visible()


def expect_done(page: Page, model, name: str, objects: list) -> None:
    """The action's own message after it ran on `objects`, and no error.

    A bulk run, or an action that reports nothing of its own, sums up with its
    `success` text; one that reports on each object names it.
    """
    action = object_action(model, name)
    if action.report is None or len(objects) > 1:
        expect_success(page, str(action.success).format(count=len(objects)))
    else:
        expect_success(page, str(objects[0]))


def expect_refreshed_to_show(page: Page, locator, text: str, *, seconds: float = 20) -> None:
    """The page, refreshing itself while work is in flight, comes to show `text`.

    No reload by the test: the page's own refresh must bring the result.
    """
    expect(locator).to_contain_text(text, timeout=seconds * 1000)
