"""The back-office in a real browser: Debian's Chromium driven by Playwright.

Nothing is downloaded at run time: Playwright drives the Chromium that the
test command installs from Debian (`/usr/bin/chromium`), never a browser of
its own (`playwright install` is never run).

Playwright's sync API keeps an asyncio loop running in this thread for as
long as it is started (in a greenlet, between our calls), and Django refuses
ORM calls from a thread with a running loop (SynchronousOnlyOperation). The
browser tests need the ORM throughout (demo data, the outbox driven by hand,
the live server's flush), so:
- they run last (`pytest_collection_modifyitems` below), and the one
  Playwright instance of the session starts with the first of them, after
  the test database exists;
- DJANGO_ALLOW_ASYNC_UNSAFE is set exactly while that loop exists. Nothing
  async runs in it while our code does (the loop only turns inside
  Playwright's own calls), which is the hazard Django's check guards against.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from tests.browser.pages import SCREENSHOTS_DIR, Screenshots

# The simulators are started as the end-to-end tests start them: their
# fixtures are reused from the domains' conftests, not copied.
from tests.dimona.conftest import onss_simulator  # noqa: F401  (fixture)
from tests.integrations.conftest import google_simulator  # noqa: F401  (fixture)
from tests.restosync.conftest import (  # noqa: F401  (fixtures)
    sleeps,
    zenchef_simulator,
)
from tests.symphonics.conftest import (  # noqa: F401  (fixtures)
    _clean_caches,
    live_symphonics,
    simulator,
)
from tests.tuniclaim.conftest import tuniclaim_simulator  # noqa: F401  (fixture)

BROWSER_DIR = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
# The browser's language as a Belgian or British manager's would say it.
LOCALES = {"en": "en-GB", "fr": "fr-BE"}
# A page that takes longer than this is a failure, not something to wait for.
PAGE_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    """Run the browser tests after every other test (see the module's docstring)."""
    browser = [item for item in items if BROWSER_DIR in Path(str(item.path)).parents]
    if browser:
        others = [item for item in items if item not in browser]
        items[:] = others + browser


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Kept on the test, so that its page can be photographed when it failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator:
    """One Chromium for the session, started after the test database exists.

    `launch()` gives Chromium a fresh temporary profile (user-data dir) and
    removes it on close, so no state of an earlier run is carried over.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./scripts/test.sh installs Debian's chromium.")
    # The directory holds this run's pictures only: none left from an earlier run.
    shutil.rmtree(SCREENSHOTS_DIR, ignore_errors=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                  args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def language(request) -> str:
    """The interface language under test; tests parametrize it over LOCALES."""
    return request.param


@pytest.fixture
def page(browser, language, request) -> Iterator:
    """A fresh browser context (no cookies) speaking `language`, and its page.

    The hub picks the language from the browser's Accept-Language (the demo
    manager has no preference of their own); the gettext of the test runs in
    the same language, so one test serves both.
    """
    context = browser.new_context(locale=LOCALES[language], timezone_id="Europe/Brussels",
                                  viewport={"width": 1400, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    with translation.override(language):
        yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        # What the browser showed when the test failed, beside the steps' pictures.
        path = SCREENSHOTS_DIR / language / f"failed-{request.node.originalname}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    context.close()


@pytest.fixture
def screenshots(page, language) -> Screenshots:
    # Given the language, every picture also checks the page for English left on it.
    return Screenshots(page, SCREENSHOTS_DIR / language, language=language)


# "Demo manager login: username 'manager', password '…'", in whichever language
# the command speaks: the line's two quoted values.
LOGIN_LINE = re.compile(r"'(?P<username>[^']+)'[^'\n]*'(?P<password>[^']+)'\s*$", re.MULTILINE)


@pytest.fixture
def demo_login(live_server) -> tuple[str, str]:
    """The hub set up as a first run sets it up (`manage.py setup_hub`, which
    scripts/run.sh runs), and the demo manager's login, read from the
    command's output as a person reads it.

    Static files are not collected: the live server serves them from the apps.
    """
    output = StringIO()
    call_command("setup_hub", "--no-collectstatic", stdout=output)
    logins = LOGIN_LINE.findall(output.getvalue())
    assert logins, output.getvalue()
    # The login is the command's last line.
    return logins[-1]
