"""What a manager does in the admin, in the words the page shows them.

Labels are looked up with gettext in the language under test (the `page`
fixture activates it), from the same msgids the hub renders, so one test
serves every language.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.sites import site
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

# Kept as files of the test run (CI keeps the directory); ignored by git.
SCREENSHOTS_DIR = Path(settings.BASE_DIR) / "test-results" / "browser"
# What Django's error pages say (its own msgids, translated like the rest).
ERROR_TITLES = ("Page not found", "Not Found", "Server Error", "Server error", "403 Forbidden")


class Screenshots:
    """`test-results/browser/<language>/<NN>-<step>.png`, numbered in the order taken."""

    def __init__(self, page: Page, directory: Path) -> None:
        self.page = page
        self.directory = directory
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    def take(self, step: str) -> Path:
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


def press_object_action(page: Page, model, name: str) -> None:
    """Press the action's button on the object's page (a link, if it opens a page first)."""
    action = object_action(model, name)
    toolbar = page.get_by_role("toolbar", name=gettext("Actions on this object"))
    role = "link" if action.opens_a_page else "button"
    toolbar.get_by_role(role, name=str(action.label)).click()


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
