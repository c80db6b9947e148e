"""A first run, seen by the demo manager: every page the admin links to opens.

The hub is set up as scripts/run.sh sets it up (`manage.py setup_hub`: the
migrations and the groups' permissions, schedules, demo data and the demo
manager, whose login is read from the command's output). The manager signs
in in a real browser and follows every link of the admin index and of each
app index, and the first object of every change list, in English and in
French. The links come from the pages themselves, so a page the menu offers
but the manager may not open is caught too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.pages import SCREENSHOTS_DIR, Screenshots, assert_no_error_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Not pages: leaving the session would end the crawl.
SKIPPED = ("/admin/logout/",)
# Where the index and an app index name their apps and their models' change lists.
APP_INDEX_LINKS = "caption a.section"
CHANGE_LIST_LINKS = "tr[class^='model-'] th a"


def same_origin_links(page, base_url: str, selector: str = "a[href]") -> list[str]:
    hrefs = page.eval_on_selector_all(selector, "links => links.map(a => a.href)")
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        # Every page of the hub the admin links to ("View site" too); not the outside world.
        if f"{parts.scheme}://{parts.netloc}" != base_url:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.path not in SKIPPED:
            paths.append(path)
    return paths


def open_page(page, base_url: str, path: str) -> None:
    response = page.goto(base_url + path)
    assert response is not None and response.status == 200, (
        f"{path}: {response.status if response else 'no response'}")
    # A page that sends the manager elsewhere (the login page) is not the page.
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} went to {page.url}"
    assert_no_error_page(page, path)


@pytest.mark.parametrize("language", ["en", "fr"], indirect=True)
def test_it_opens_every_admin_page_as_the_demo_manager(page, language, live_server,
                                                         demo_login):
    base_url = live_server.url
    log_in(page, base_url, *demo_login)
    screenshots = Screenshots(page, SCREENSHOTS_DIR / language / "admin-pages")
    screenshots.take("index")
    # The hub answers in the browser's language (the manager chose none).
    assert page.locator("html").get_attribute("lang") == language

    opened: set[str] = {"/admin/"}
    app_indexes: set[str] = set()
    change_lists: set[str] = set()
    objects_opened = 0

    def follow() -> list[str]:
        """The links of the page just opened that the crawl follows."""
        app_indexes.update(same_origin_links(page, base_url, APP_INDEX_LINKS))
        change_lists.update(same_origin_links(page, base_url, CHANGE_LIST_LINKS))
        return same_origin_links(page, base_url)

    queue = follow()
    while queue:
        path = queue.pop(0)
        if path in opened:
            continue
        opened.add(path)
        open_page(page, base_url, path)
        if path in app_indexes:
            screenshots.take(path.strip("/").replace("/", "-"))
            queue.extend(follow())
        elif path in change_lists:
            first = page.locator("#result_list tbody tr").first.locator("a[href]").first
            if first.count():
                first_path = urlsplit(first.get_attribute("href")).path
                if first_path not in opened:
                    opened.add(first_path)
                    open_page(page, base_url, first_path)
                    objects_opened += 1

    # Every app of the index was opened, and its models' lists.
    assert app_indexes and app_indexes <= opened, sorted(app_indexes - opened)
    assert len(change_lists) >= 10 and change_lists <= opened, sorted(change_lists - opened)
    # The demo data and the schedules give most lists a row: the crawl really
    # went past the lists into objects' pages.
    assert objects_opened >= 5, sorted(opened)
