"""A claims manager's day in MY TUNICLAIM, in a real browser, in English and in French.

The hub runs on the live server, set up as a first run sets it up (its demo
claims among the data), with the MY TUNICLAIM simulator on a real port. The
home page's panel leads to the sync page; "Sync now" imports the simulator's
batches (Celery is eager in tests: the import runs in the live server's
request, after its commit, as a worker would run it). A claim being processed
is validated and its payment recorded from its page: the outbox pushes each
to the simulator when the page saves. A batch with a bad amount lands in the
quarantine, and "Retry import" imports its bordereau again.

Each step leaves a screenshot in test-results/browser/<language>/tuniclaim/.

The French run looks for English left on each page with the check of
pages.py, and also for the hub's interface strings that the French catalogue
has no translation for (pages.py only knows the msgids the catalogue holds,
so a string never extracted into it would pass unseen). English from a
string of MY TUNICLAIM's own sources that the catalogue lacks is tolerated
while those translations are on their way: the run goes through every step,
then is marked xfail naming them. Any other English fails at once, and once
the catalogue translates MY TUNICLAIM's strings the check is strict.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polib
import pytest
import requests
from django.conf import settings
from django.urls import resolve, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext, templatize, trans_real
from playwright.sync_api import Page, expect

from apps.core.fields import mask
from apps.core.models import SyncRun
from apps.tuniclaim.admin import (
    HEALTH_BADGES,
    PaymentUpdateForm,
    StatusChangeForm,
)
from apps.tuniclaim.imports import IMPORT_KIND
from apps.tuniclaim.models import BulletinSoin, QuarantinedRecord
from apps.tuniclaim.selectors import ORANGE
from apps.tuniclaim.simulator import TuniclaimSimulator
from tests.browser.pages import (
    SCREENSHOTS_DIR,
    SOURCE_LANGUAGE,
    Screenshots,
    confirm_object_action,
    english_left,
    expect_done,
    expect_success,
    log_in,
    object_action,
    object_action_control,
    phrases_of,
    press_object_action,
)
from tests.symphonics.helpers import wait_until

# A small data set: two batches of three claims, four of them being processed.
BATCHES, CLAIMS = 2, 3
TRANSFER_REFERENCE = "VIR-2026-0042"

# -- English left on a French page, including strings the catalogue lacks ---------------------

# Where the hub's interface strings are written (what makemessages reads).
HUB_SOURCES = ("apps", "templates")
TEMPLATE_SUFFIXES = (".html", ".txt")
# MY TUNICLAIM's own sources: their strings' French is on its way.
CLAIMS_SOURCES = ("apps/tuniclaim/", "templates/admin/tuniclaim/", "templates/tuniclaim/")
# makemessages' own xgettext keywords (django/core/management/commands/makemessages.py).
XGETTEXT = ["xgettext", "--language=Python", "--from-code=UTF-8", "--keyword=gettext_noop",
            "--keyword=gettext_lazy", "--keyword=ngettext_lazy:1,2", "--keyword=pgettext:1c,2",
            "--keyword=npgettext:1c,2,3", "--keyword=pgettext_lazy:1c,2",
            "--keyword=npgettext_lazy:1c,2,3", "--output=-"]


@functools.cache
def hub_msgids() -> tuple[tuple[polib.POEntry, frozenset[str]], ...]:
    """Every msgid of the hub's sources as makemessages extracts it, with the
    files (relative to the project) it is written in."""
    base = Path(settings.BASE_DIR)
    with tempfile.TemporaryDirectory() as work:
        # A template is read as makemessages reads it: turned into Python first.
        origin: dict[str, str] = {}
        for root in HUB_SOURCES:
            for source in sorted((base / root).rglob("*")):
                relative = str(source.relative_to(base))
                if source.suffix == ".py" and "__pycache__" not in source.parts:
                    origin[str(source)] = relative
                elif source.suffix in TEMPLATE_SUFFIXES and source.is_file():
                    python = Path(work) / f"{len(origin)}.py"
                    python.write_text(templatize(source.read_text(encoding="utf-8"),
                                                 origin=str(source)), encoding="utf-8")
                    origin[str(python)] = relative
        listing = Path(work) / "files.txt"
        listing.write_text("\n".join(origin), encoding="utf-8")
        # A fixed argument list; xgettext is installed by scripts/test.sh.
        result = subprocess.run([*XGETTEXT, "--files-from", str(listing)],  # noqa: S603
                                capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return tuple((entry, frozenset(origin.get(path, path) for path, _line in entry.occurrences))
                 for entry in polib.pofile(result.stdout) if entry.msgid)


def _translated(catalogue: dict, entry: polib.POEntry) -> bool:
    msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
    return (msgid, 0) in catalogue if entry.msgid_plural else msgid in catalogue


@functools.cache
def untranslated_hub_phrases(language: str) -> dict[str, bool]:
    """The phrases of the hub's msgids that the catalogue Django serves in
    `language` has no translation for (shown in English as they are), each
    with whether it is tolerated: written only in MY TUNICLAIM's sources."""
    catalogue = trans_real.translation(language)._catalog
    phrases: dict[str, bool] = {}
    for entry, files in hub_msgids():
        if _translated(catalogue, entry):
            continue
        claims_only = all(path.startswith(CLAIMS_SOURCES) for path in files)
        for phrase in (*phrases_of(entry.msgid), *phrases_of(entry.msgid_plural or "")):
            phrases[phrase] = phrases.get(phrase, True) and claims_only
    return phrases


def english_on(page, language: str) -> tuple[list[str], list[str]]:
    """The English interface phrases `page` shows although it is in `language`:
    (those that fail the page, those tolerated), each sorted.

    pages.english_left finds the msgids the catalogue holds; the hub's
    msgids it has no translation for are looked for the same way, line by
    line. Tolerated: the phrases of MY TUNICLAIM's own untranslated strings.
    """
    untranslated = untranslated_hub_phrases(language)
    lines = [" ".join(line.split()) for line in page.locator("body").inner_text().splitlines()]
    shown = {phrase for phrase in untranslated if any(phrase in line for line in lines)}
    shown.update(english_left(page, language))
    tolerated = {phrase for phrase in shown if untranslated.get(phrase, False)}
    return sorted(shown - tolerated), sorted(tolerated)


class EnglishCheck:
    """pages.expect_no_english, plus the hub's strings missing from the catalogue;
    English from MY TUNICLAIM's untranslated strings is noted, not failed."""

    def __init__(self, page: Page, language: str) -> None:
        self.page = page
        self.language = language
        self.tolerated: dict[str, str] = {}

    def __call__(self, where: str) -> None:
        if self.language == SOURCE_LANGUAGE:
            return
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)
        wrong, tolerated = english_on(self.page, self.language)
        assert not wrong, f"{where} ({self.language}) shows English: {wrong[:10]}"
        for phrase in tolerated:
            self.tolerated.setdefault(phrase, where)

    def verdict(self) -> None:
        """Once every step has run: xfail while MY TUNICLAIM's strings were seen untranslated."""
        if self.tolerated:
            seen = "; ".join(f"{phrase!r} ({where})"
                             for phrase, where in sorted(self.tolerated.items())[:12])
            pytest.xfail(f"{len(self.tolerated)} MY TUNICLAIM interface phrases are not in the "
                         f"{self.language} catalogue yet and show in English: {seen}")


class Steps:
    """The day's screenshots, each page checked for English first."""

    def __init__(self, page: Page, language: str) -> None:
        self.check = EnglishCheck(page, language)
        self.screenshots = Screenshots(page, SCREENSHOTS_DIR / language / "tuniclaim")

    def take(self, step: str) -> Path:
        self.check(step)
        return self.screenshots.take(step)


# -- the simulator and the pages ------------------------------------------------------------

def sim_control(sim: TuniclaimSimulator, method: str, path: str, **params: Any) -> dict:
    """A call to the simulator's /_sim/ controls (a JSON body, or a query for a GET)."""
    body = {"params": params} if method == "GET" else {"json": params or None}
    response = requests.request(method, f"{sim.base_url}/_sim/{path}", timeout=10, **body)
    assert response.ok, response.text
    return response.json()


def pushes(sim: TuniclaimSimulator, bs_number: str) -> list[dict]:
    return sim_control(sim, "GET", "pushes", bsId=bs_number)["pushes"]


def change_path(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def health_label(level: str) -> str:
    return str(HEALTH_BADGES[level][0])


def in_quarantine() -> str:
    """The health's reason for the records waiting in the quarantine, as the page says it."""
    count = QuarantinedRecord.objects.filter(released_at__isnull=True).count()
    return ngettext("%(count)d record is in quarantine.",
                    "%(count)d records are in quarantine.", count) % {"count": count}


def sync_now(page: Page) -> SyncRun:
    """Press "Sync now"; the run it started (finished: tasks run at once in tests)."""
    before = set(SyncRun.objects.filter(kind=IMPORT_KIND).values_list("pk", flat=True))
    page.get_by_role("button", name=gettext("Sync now"), exact=True).click()
    # The page is back from the post (the run exists) once it shows the message.
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    run = SyncRun.objects.filter(kind=IMPORT_KIND).exclude(pk__in=before).get()
    expect_success(page, gettext("An import from MY TUNICLAIM has started (run #%(id)s).")
                   % {"id": run.pk})
    return run


def opened_object_id(page: Page) -> str:
    """The id of the object whose admin page is open."""
    return resolve(urlsplit(page.url).path).kwargs["object_id"]


def run_row(page: Page, run: SyncRun):
    return page.locator(f'tr.tuniclaim-run[data-run="{run.pk}"]')


def expect_masked(page: Page, *names: str) -> None:
    """Each name shows masked, never in clear."""
    body = page.locator("body")
    for name in names:
        expect(body).not_to_contain_text(name)
        expect(body).to_contain_text(mask(name))


@pytest.fixture
def claims_sim(tuniclaim_simulator) -> TuniclaimSimulator:
    return tuniclaim_simulator(batches=BATCHES, claims=CLAIMS)


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "fr"], indirect=True)
def test_it_runs_a_claims_managers_day_with_my_tuniclaim(page: Page, language, live_server,
                                                          demo_login, claims_sim):
    base = live_server.url
    sim = claims_sim
    steps = Steps(page, language)
    log_in(page, base, *demo_login)

    # -- the home page: the link's health, a click away from the sync page ---------------
    panel = page.locator("#dash-tuniclaim_sync")
    # Never imported from the platform yet (the demo's claims were loaded, not imported).
    expect(panel).to_contain_text(gettext("MY TUNICLAIM has never been imported."))
    link = panel.locator(".dash-summary a")
    expect(link).to_contain_text(health_label(ORANGE))
    steps.take("home")
    link.click()
    expect(page).to_have_url(base + reverse("admin:tuniclaim_sync"))
    steps.take("sync-page")

    # -- "Sync now": the run, its row in the last imports, the health --------------------
    run = sync_now(page)
    assert (run.status, run.created) == (SyncRun.Status.SUCCESS, BATCHES + BATCHES * CLAIMS)
    row = run_row(page, run)
    expect(row).to_contain_text(str(SyncRun.Status.SUCCESS.label))
    expect(row.locator("td").nth(3)).to_have_text(str(run.created))
    health = page.locator(".tuniclaim-health")
    # The demo's claim with a status the mapping does not know waits in the
    # quarantine: the link needs a look for that alone, not for the import.
    expect(health.locator(".tuniclaim-health-level")).to_contain_text(health_label(ORANGE))
    expect(health.locator(".tuniclaim-health-reasons li")).to_have_text([in_quarantine()])
    steps.take("synced")

    # -- the claims being processed: the first one opened, its names masked --------------
    page.locator("#nav-sidebar").get_by_role(
        "link", name=capfirst(BulletinSoin._meta.verbose_name_plural), exact=True).click()
    page.locator("#changelist-filter").get_by_role(
        "link", name=str(BulletinSoin.Status.IN_PROGRESS.label), exact=True).click()
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_contain_text(str(BulletinSoin.Status.IN_PROGRESS.label))
    steps.take("claims-being-processed")
    rows.first.locator("th a").click()
    claim = BulletinSoin.objects.select_related("bordereau").get(pk=opened_object_id(page))
    # The newest batches first: one of the simulator's, not of the demo's.
    assert claim.bordereau.external_id in sim.store.batches
    assert claim.status == BulletinSoin.Status.IN_PROGRESS
    expect_masked(page, claim.insured_name, claim.beneficiary_name)
    # Not paid before it is validated: the button is disabled and says why.
    # (pages.object_action_control looks for a link, as an action that opens
    # a page is when enabled; disabled, it is a button.)
    toolbar = page.get_by_role("toolbar", name=gettext("Actions on this object"))
    pay = object_action(BulletinSoin, "update_payment")
    expect(toolbar.get_by_role("button", name=str(pay.label))).to_be_disabled()
    expect(toolbar).to_contain_text(pay.reason_unavailable(claim))
    steps.take("claim")

    # -- validated: the page says what goes to MY TUNICLAIM, the push arrives once -------
    press_object_action(page, BulletinSoin, "change_status")
    expect(page.locator(".hub-consequences")).to_contain_text(
        str(object_action(BulletinSoin, "change_status").consequence(claim)))
    page.get_by_label(str(StatusChangeForm.base_fields["status"].label)).select_option(
        label=str(BulletinSoin.Status.VALIDATED.label))
    steps.take("change-status")
    confirm_object_action(page, BulletinSoin, "change_status")
    expect_done(page, BulletinSoin, "change_status", [claim])
    expect(page.locator("div.field-status_badge")).to_contain_text(
        str(BulletinSoin.Status.VALIDATED.label))
    expect(object_action_control(page, BulletinSoin, "update_payment")).to_be_enabled()
    wait_until(lambda: len(pushes(sim, claim.number)) == 1)
    [status_push] = pushes(sim, claim.number)
    assert (status_push["kind"], status_push["outcome"], status_push["body"]["newStatus"]) == (
        "status", "applied", "VALIDATED")
    steps.take("status-changed")

    # -- its payment, not executed yet: one payment push after the status push -----------
    claim.refresh_from_db()
    press_object_action(page, BulletinSoin, "update_payment")
    expect(page.locator(".hub-consequences")).to_contain_text(
        str(object_action(BulletinSoin, "update_payment").consequence(claim)))
    fields = PaymentUpdateForm.base_fields
    page.get_by_label(str(fields["payment_status"].label)).select_option(
        label=str(BulletinSoin.PaymentStatus.NOT_EXECUTED.label))
    page.get_by_label(str(fields["transfer_reference"].label)).fill(TRANSFER_REFERENCE)
    steps.take("update-payment")
    confirm_object_action(page, BulletinSoin, "update_payment")
    expect_done(page, BulletinSoin, "update_payment", [claim])
    expect(page.locator("div.field-payment_badge")).to_contain_text(
        str(BulletinSoin.PaymentStatus.NOT_EXECUTED.label))
    expect(page.locator("div.field-transfer_reference")).to_contain_text(TRANSFER_REFERENCE)
    wait_until(lambda: len(pushes(sim, claim.number)) == 2)
    received = pushes(sim, claim.number)
    assert [(push["kind"], push["outcome"]) for push in received] == [
        ("status", "applied"), ("payment", "applied")]
    assert (received[1]["body"]["paymentStatus"], received[1]["body"]["virementReference"]) == (
        "NON_EXECUTE", TRANSFER_REFERENCE)
    steps.take("payment-recorded")

    # -- a batch with a bad amount: quarantined, the link needs a look -------------------
    invalid = sim_control(sim, "POST", "invalid", kind="bad_amount")
    page.goto(base + reverse("admin:tuniclaim_sync"))
    run = sync_now(page)
    assert (run.status, run.invalid) == (SyncRun.Status.PARTIAL, 1)
    expect(run_row(page, run)).to_contain_text(str(SyncRun.Status.PARTIAL.label))
    expect(health.locator(".tuniclaim-health-level")).to_contain_text(health_label(ORANGE))
    expect(health.locator(".tuniclaim-health-reasons")).to_contain_text(in_quarantine())
    steps.take("synced-with-an-invalid-record")
    record = QuarantinedRecord.objects.get(bordereau_external_id=invalid["id"])
    assert record.reason == QuarantinedRecord.Reason.BAD_AMOUNT
    # The sync page's own link (in French the sidebar's reads the same).
    page.locator("#tuniclaim-sync").get_by_role(
        "link", name=gettext("Records in quarantine"), exact=True).click()
    page.locator(f'#result_list a[href="{change_path(record)}"]').first.click()
    expect(page.locator(".field-payload_pretty")).to_be_visible()
    # The names as MY TUNICLAIM sent them: the quarantine keeps them masked.
    [sent] = [bs for bs in sim_control(sim, "GET", f"bordereaux/{invalid['id']}")["bulletins"]
              if bs["numBs"] == record.record_key]
    expect_masked(page, sent["nomAssure"], sent["nomBeneficiaire"])
    steps.take("quarantined-record")

    # -- "Retry import": its bordereau imported again (the amount is still bad) ----------
    press_object_action(page, QuarantinedRecord, "retry_import")
    expect_done(page, QuarantinedRecord, "retry_import", [record])
    retried = SyncRun.objects.filter(kind=IMPORT_KIND).latest("started_at")
    expect(page.locator("ul.messagelist li.success")).to_contain_text(
        gettext("%(record)s: its bordereau was imported again (run #%(run)s: %(status)s).") % {
            "record": record, "run": retried.pk, "status": retried.get_status_display()})
    record.refresh_from_db()
    assert (record.released_at, record.run_id) == (None, retried.pk)
    steps.take("import-retried")

    # The day ends on the home page, the panel showing the imports.
    page.goto(base + reverse("admin:index"))
    expect(panel.locator(".dash-table tbody tr")).to_have_count(
        SyncRun.objects.filter(kind=IMPORT_KIND).count())
    steps.take("home-at-the-end")
    steps.check.verdict()


# -- the French check's own tests -------------------------------------------------------------

class TextPage:
    """A page whose body shows `text`, laid out in lines as a browser would."""

    def __init__(self, text: str) -> None:
        self.text = text

    def locator(self, selector: str) -> TextPage:
        assert selector == "body"
        return self

    def inner_text(self) -> str:
        return self.text


def test_it_reads_the_hubs_msgids_from_python_and_templates_with_their_files():
    files = {entry.msgid: paths for entry, paths in hub_msgids()}

    assert "templates/admin/tuniclaim/sync.html" in files["Sync now"]
    assert files["Needs a look"] == {"apps/tuniclaim/admin.py"}
    plural = next(entry for entry, _paths in hub_msgids()
                  if entry.msgid == "%(count)d record is in quarantine.")
    assert plural.msgid_plural == "%(count)d records are in quarantine."


def test_it_tolerates_only_my_tuniclaims_untranslated_strings(monkeypatch):
    # The catalogue as it may be on any day: one string of ours untranslated,
    # one of the core's.
    monkeypatch.setattr(sys.modules[__name__], "untranslated_hub_phrases",
                        lambda language: {"Sync the claims now": True,
                                          "Records handled so far": False})
    page = TextPage("Synchroniser maintenant\nSync the claims now\nRecords handled so far\n"
                    "Log out")

    wrong, tolerated = english_on(page, "fr")

    # Django's own "Log out" is in the catalogue, translated: never tolerated.
    assert (wrong, tolerated) == (["Log out", "Records handled so far"],
                                  ["Sync the claims now"])
    assert english_on(TextPage("Synchroniser maintenant\nDéconnexion"), "fr") == ([], [])
