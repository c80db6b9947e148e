"""A manager's day in the back-office, in a real browser, in English and in French.

The hub runs on the live server, set up as a first run sets it up, with the
ONSS and Symphonics simulators on real ports. What the platforms answer
comes back as in production: Dimona results by polling (the outbox driven
here, on a clock the test moves forward), Symphonics decisions by signed
webhooks that the simulator sends to the live server. A shift's page
refreshes itself while a declaration is in flight, and the test waits for
that, never reloading it; an intervention's page refreshes only while it is
being created, so the manager reloads it once Symphonics has decided.

The restaurant's part of the day has its own test, with the Zenchef
simulator on a real port sending its webhooks to the live server: a
reservation typed in the admin is pushed by the outbox when the page saves
(the live server runs tasks at once), a guest's booking arrives by webhook,
one whose webhook is held back is found by "Poll now", and a reservation
changed on both sides becomes a conflict the manager settles on its page.

Every page photographed in French is also checked for English left on it
(`expect_no_english`); what a platform wrote, shown as data, is named at the
step that shows it and excepted.

Each step leaves a screenshot in test-results/browser/<language>/ (the
restaurant's in its restosync/ folder).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta

import pytest
import requests
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from apps.core.admin_display import EMPTY
from apps.core.dashboard import BREAKER_LABELS
from apps.core.models import (
    AttentionItem,
    Conflict,
    ExternalMapping,
    OutboundOperation,
    SyncRun,
    WebhookEvent,
)
from apps.dimona import services as dimona_services
from apps.dimona.admin import ValidateHoursForm
from apps.dimona.mapping import BRUSSELS
from apps.dimona.models import DimonaDeclaration, Employer, Shift
from apps.restosync.demo import DEMO_RESTAURANT
from apps.restosync.models import (
    ENTITY_RESERVATION,
    Reservation,
    Restaurant,
    SyncPlatformConfig,
)
from apps.restosync.operations import PUSH_RESERVATION
from apps.restosync.polling import POLL_KIND
from apps.restosync.simulator import SANDBOX_RESTAURANT_UID, ZenchefSimulator
from apps.symphonics.models import Intervention
from apps.symphonics.simulator import SymphonicsSimulator
from tests.browser.pages import (
    SCREENSHOTS_DIR,
    Screenshots,
    confirm_object_action,
    expect_done,
    expect_refreshed_to_show,
    expect_success,
    log_in,
    object_action_control,
    press_object_action,
    run_list_action,
)
from tests.dimona.factories import valid_ssin
from tests.dimona.helpers import drive_outbox
from tests.restosync.factories import WEBHOOK_SECRET, make_config, next_weekday
from tests.restosync.helpers import guest_books, mapped_reservation, sim_bookings
from tests.symphonics.helpers import settled, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Status = DimonaDeclaration.Status
Kind = DimonaDeclaration.Kind


@pytest.fixture
def traveller() -> Iterator[time_machine.Coordinates]:
    """The day starts at 09:00 in Brussels, tomorrow, and the clock runs from there.

    Tomorrow, so the browser's own clock (the real one) never sees a cookie
    set in its past; moved forward only, by the outbox's waits and to the
    no-show's time.
    """
    today = timezone.localtime(timezone.now(), BRUSSELS).date()
    with time_machine.travel(datetime.combine(today + timedelta(days=1), time(9),
                                              tzinfo=BRUSSELS), tick=True) as traveller:
        yield traveller


@pytest.fixture
def symphonics(live_symphonics) -> SymphonicsSimulator:
    return live_symphonics


def hub_has(intervention: Intervention, status: str) -> Callable[[], bool]:
    """The hub has processed Symphonics' webhooks up to `status`."""
    return Intervention.objects.filter(pk=intervention.pk, status=status).exists


def reverse_change(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def change_url(base_url: str, obj) -> str:
    return base_url + reverse_change(obj)


def auto_refresh(page: Page):
    """The notice of a page that refreshes itself while work is in flight."""
    return page.locator(".hub-auto-refresh")


def shift_status(page: Page):
    return page.locator("div.field-status_badge")


def declaration_row(page: Page, kind: DimonaDeclaration.Kind):
    """The row of the shift's declarations inline for this kind (In, Update, Cancel)."""
    return page.locator("#declarations-group tbody tr").filter(has_text=str(kind.label))


@pytest.mark.parametrize("language", ["en", "fr"], indirect=True)
def test_it_runs_a_managers_day(page: Page, language, screenshots, live_server, traveller,
                                demo_login, onss_simulator, symphonics):
    base = live_server.url
    # The demo's shifts of today and tomorrow; one more, proposed to a new worker.
    employer = Employer.objects.get(enterprise_number="0403170701")
    today = timezone.localtime(timezone.now(), BRUSSELS).date()
    worker = dimona_services.worker_create(first_name="Nora", last_name="Flexi",
                                           ssin=valid_ssin("920101123"))
    proposed = dimona_services.shift_create(
        employer=employer, worker=worker,
        start=datetime.combine(today, time(12), tzinfo=BRUSSELS),
        end=datetime.combine(today, time(16), tzinfo=BRUSSELS))
    demo_shifts = Shift.objects.filter(employer=employer).exclude(pk=proposed.pk)
    no_show = demo_shifts.get(start=datetime.combine(today, time(11), tzinfo=BRUSSELS))
    to_cancel = demo_shifts.get(start=datetime.combine(today + timedelta(days=1), time(17),
                                                       tzinfo=BRUSSELS))
    approved, needs_proof = Intervention.objects.order_by("external_id")

    # -- morning: sign in ------------------------------------------------------------
    page.goto(base + "/admin/")
    screenshots.take("login")
    log_in(page, base, *demo_login)
    expect(page.locator("html")).to_have_attribute("lang", language)
    screenshots.take("home")

    # -- a proposed shift: accept it, declare it, see the ONSS' answer arrive ---------
    page.goto(change_url(base, proposed))
    expect(shift_status(page)).to_contain_text(str(Shift.Status.PROPOSED.label))
    screenshots.take("shift-proposed")
    press_object_action(page, Shift, "accept")
    expect_done(page, Shift, "accept", [proposed])
    expect(shift_status(page)).to_contain_text(str(Shift.Status.ACCEPTED.label))
    press_object_action(page, Shift, "declare")
    expect_done(page, Shift, "declare", [proposed])
    # The page says it is waiting for the ONSS and will refresh itself...
    expect(auto_refresh(page)).to_be_visible()
    screenshots.take("shift-declared")

    drive_outbox(traveller)
    declared_in = proposed.declarations.get(kind=Kind.IN)
    assert (declared_in.status, bool(declared_in.period_id)) == (Status.ACCEPTED, True)
    expect_refreshed_to_show(page, declaration_row(page, Kind.IN), str(declared_in.period_id))
    expect(declaration_row(page, Kind.IN)).to_contain_text(str(Status.ACCEPTED.label))
    # ...and stops once nothing is in flight.
    expect(auto_refresh(page)).to_have_count(0)
    screenshots.take("shift-result-arrived")

    # -- the demo's shifts of the day, declared together from the list ---------------
    page.goto(base + reverse("admin:dimona_shift_changelist"))
    run_list_action(page, Shift, "declare", [no_show.pk, to_cancel.pk])
    expect_done(page, Shift, "declare", [no_show, to_cancel])
    screenshots.take("shifts-declared-from-the-list")
    drive_outbox(traveller)

    # -- tomorrow's shift is off: cancelled, after a confirmation --------------------
    page.goto(change_url(base, to_cancel))
    press_object_action(page, Shift, "cancel_dimona")
    screenshots.take("cancel-confirmation")
    confirm_object_action(page, Shift, "cancel_dimona")
    expect_done(page, Shift, "cancel_dimona", [to_cancel])
    drive_outbox(traveller)
    cancel = to_cancel.declarations.get(kind=Kind.CANCEL)
    assert cancel.status == Status.ACCEPTED
    expect_refreshed_to_show(page, declaration_row(page, Kind.CANCEL),
                             str(Status.ACCEPTED.label))
    expect(shift_status(page)).to_contain_text(str(Shift.Status.CANCELLED.label))
    screenshots.take("shift-cancelled")

    # -- half an hour after 11:00, Lina is not there: a no-show ----------------------
    traveller.move_to(no_show.start + timedelta(minutes=31))
    page.goto(change_url(base, no_show))
    press_object_action(page, Shift, "mark_no_show")
    screenshots.take("no-show-confirmation")
    confirm_object_action(page, Shift, "mark_no_show")
    expect_done(page, Shift, "mark_no_show", [no_show])
    drive_outbox(traveller)
    assert no_show.declarations.get(kind=Kind.CANCEL).status == Status.ACCEPTED
    expect_refreshed_to_show(page, declaration_row(page, Kind.CANCEL),
                             str(Status.ACCEPTED.label))
    expect(shift_status(page)).to_contain_text(str(Shift.Status.NO_SHOW.label))
    screenshots.take("no-show")

    # -- Nora stayed 45 minutes longer: her hours validated, a Dimona-Update ---------
    traveller.move_to(proposed.end + timedelta(minutes=30))
    page.goto(change_url(base, proposed))
    press_object_action(page, Shift, "validate_hours")
    page.get_by_label(str(ValidateHoursForm.base_fields["end"].label)).fill(
        f"{today:%Y-%m-%d}T16:45")
    screenshots.take("validate-hours")
    confirm_object_action(page, Shift, "validate_hours")
    expect_done(page, Shift, "validate_hours", [proposed])
    drive_outbox(traveller)
    update = proposed.declarations.get(kind=Kind.UPDATE)
    assert (update.status, update.period_id) == (Status.ACCEPTED, declared_in.period_id)
    expect_refreshed_to_show(page, declaration_row(page, Kind.UPDATE),
                             str(Status.ACCEPTED.label))
    screenshots.take("update-accepted")

    # -- an intervention published; Symphonics approves it by webhook ----------------
    page.goto(change_url(base, approved))
    press_object_action(page, Intervention, "publish")
    expect_done(page, Intervention, "publish", [approved])
    wait_until(settled(symphonics, approved.external_id, "approved"))
    wait_until(hub_has(approved, Intervention.Status.APPROVED))
    # The page refreshes itself only while the creation is on its way: Symphonics'
    # verification takes days, so the manager comes back to it.
    page.reload()
    expect(page.locator("div.field-status_badge")).to_contain_text(
        str(Intervention.Status.APPROVED.label))
    screenshots.take("intervention-approved")
    # The status came by webhook: the page lists the events with their status.
    webhooks = page.locator(".field-webhooks")
    expect(webhooks).to_contain_text(str(WebhookEvent.Status.PROCESSED.label))
    webhooks.get_by_role("link").first.click()
    expect(page.locator(".field-status_badge")).to_contain_text(
        str(WebhookEvent.Status.PROCESSED.label))
    screenshots.take("webhook-event")

    # -- Symphonics says "too many requests": the publication waits; retried now -----
    symphonics.faults.update({"rate_limit_every": 1, "retry_after_seconds": 3600})
    page.goto(change_url(base, needs_proof))
    press_object_action(page, Intervention, "publish")
    expect_done(page, Intervention, "publish", [needs_proof])
    publication = page.locator(".field-publication")
    expect(publication).to_contain_text(str(OutboundOperation.State.FAILED.label))
    symphonics.faults.update({"rate_limit_every": 0})
    publication.get_by_role("link").first.click()
    expect(page.locator(".field-state_badge")).to_contain_text(
        str(OutboundOperation.State.FAILED.label))
    screenshots.take("operation-waiting")
    needs_proof.refresh_from_db()
    operation = needs_proof.publish_operation
    assert page.url.endswith(reverse_change(operation))
    press_object_action(page, OutboundOperation, "retry_now")
    expect_done(page, OutboundOperation, "retry_now", [operation])
    expect(page.locator(".field-state_badge")).to_contain_text(
        str(OutboundOperation.State.SUCCEEDED.label))
    screenshots.take("operation-retried")

    # -- Symphonics wants another proof: the attention queue says so -----------------
    wait_until(settled(symphonics, needs_proof.external_id, "pending_documents"))
    wait_until(hub_has(needs_proof, Intervention.Status.PROOF_REQUIRED))
    page.goto(change_url(base, needs_proof))
    expect(page.locator("div.field-status_badge")).to_contain_text(
        str(Intervention.Status.PROOF_REQUIRED.label))
    # Symphonics' notes (in English) are shown as it sent them, on the page and
    # in the attention item's summary: its words, not ours.
    symphonics_notes = [notes for notes in needs_proof.status_history.values_list(
        "notes", flat=True) if notes]
    assert symphonics_notes
    screenshots.take("intervention-proof-required", platform_text=symphonics_notes)
    page.goto(base + reverse("admin:index"))
    page.get_by_role("link", name=gettext("Attention queue"), exact=True).first.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("admin:core_attentionitem_changelist"))))
    items = AttentionItem.objects.open().filter(
        content_type__model="intervention", object_id=str(needs_proof.pk))
    assert items, "Symphonics' request for proof is not in the attention queue"
    # Each open item is a row of the queue, with its kind and a link to the intervention.
    about = page.locator(f'#result_list a[href="{reverse_change(needs_proof)}"]')
    expect(about).to_have_count(len(items))
    for item in items:
        expect(page.locator("#result_list")).to_contain_text(item.kind)
    screenshots.take("attention-queue", platform_text=symphonics_notes)


# -- RestoSync: a restaurant's reservations kept in step with Zenchef --------------------

def zenchef_control(sim: ZenchefSimulator, method: str, path: str, **body) -> dict:
    """A call to the simulator's /_sim/ controls: the guest, the platform's state, its faults."""
    response = requests.request(method, f"{sim.base_url}/_sim/{path}", json=body or None,
                                timeout=5)
    assert response.ok, response.text
    return response.json()


def zenchef_booking(sim: ZenchefSimulator, uid: str) -> dict:
    [booking] = [b for b in sim_bookings(sim) if b["uid"] == uid]
    return booking


def mapped(config: SyncPlatformConfig, booking_uid: str) -> Callable[[], bool]:
    """The hub has a reservation for this Zenchef booking (its webhook was processed)."""
    return ExternalMapping.objects.filter(connection_id=config.connection_id,
                                          entity_type=ENTITY_RESERVATION,
                                          external_id=booking_uid).exists


def sync_badge(config: SyncPlatformConfig, status: str) -> str:
    """What a reservation's "platforms" cell says of its mapping on this configuration."""
    return f"{config.platform}: {ExternalMapping.Status(status).label}"


@pytest.fixture
def zenchef(zenchef_simulator, sleeps) -> ZenchefSimulator:
    """Zenchef's simulator on a real port; the hub's client records its back-off
    pauses instead of sleeping them (the live server's requests stay quick)."""
    return zenchef_simulator()


@pytest.mark.parametrize("language", ["en", "fr"], indirect=True)
def test_it_keeps_a_restaurants_reservations_in_step_with_zenchef(
        page: Page, language, live_server, demo_login, zenchef, settings):
    base = live_server.url
    # Where Zenchef must send its webhooks, as the configuration's page shows it.
    settings.HUB_BASE_URL = base
    restaurant = Restaurant.objects.get(name=DEMO_RESTAURANT)
    config = make_config(restaurant)
    screenshots = Screenshots(page, SCREENSHOTS_DIR / language / "restosync", language=language)
    log_in(page, base, *demo_login)

    # -- the restaurant's Zenchef account: its health, and the address for its webhooks -
    page.goto(change_url(base, config))
    expect(page.locator(".field-breaker")).to_contain_text(str(BREAKER_LABELS["closed"]))
    expect(page.locator(".field-webhook_secret_state")).to_contain_text(gettext("Stored"))
    webhook_url = page.locator(".field-webhook_url .readonly").inner_text().strip()
    assert webhook_url == base + reverse("webhook-channel", kwargs={
        "platform": "zenchef", "connection_id": config.connection_id})
    screenshots.take("platform-config")
    # The manager gives Zenchef that address and the secret.
    zenchef_control(zenchef, "POST", "webhooks", restaurant_uid=SANDBOX_RESTAURANT_UID,
                    url=webhook_url, secret=WEBHOOK_SECRET)

    # -- a phone booking typed in the admin reaches Zenchef ------------------------------
    friday = next_weekday(5)
    page.goto(base + reverse("admin:restosync_reservation_add"))
    page.locator("#id_restaurant").select_option(label=restaurant.name)
    page.locator("#id_customer_name").fill("Martine Dubois")
    page.locator("#id_customer_phone").fill("+32 470 55 66 77")
    page.locator("#id_party_size").fill("2")
    page.locator("#id_reservation_time_0").fill(f"{friday:%Y-%m-%d}")
    page.locator("#id_reservation_time_1").fill(f"{friday:%H:%M}")
    screenshots.take("reservation-add")
    page.locator('input[name="_save"]').click()
    expect_success(page)
    phoned = Reservation.objects.get(customer__name="Martine Dubois")
    assert (phoned.reservation_time, phoned.party_size) == (friday, 2)
    # The outbox pushed it when the page saved (the live server's tasks run at once).
    [booking] = [b for b in sim_bookings(zenchef)
                 if b["externalReferenceId"] == str(phoned.pk)]
    assert booking["numberOfPeople"] == 2
    page.goto(change_url(base, phoned))
    sync = page.locator(".field-sync_state")
    expect(sync).to_contain_text(sync_badge(config, ExternalMapping.Status.SYNCED))
    expect(sync).to_contain_text(booking["uid"])
    screenshots.take("reservation-synced")

    # -- a guest books on Zenchef; the webhook brings the booking here --------------------
    online = guest_books(zenchef, firstName="Eva", lastName="Claes", numberOfPeople=3)
    wait_until(mapped(config, online["uid"]))
    page.goto(base + reverse("admin:restosync_reservation_changelist"))
    row = page.locator("#result_list tbody tr").filter(has_text="Eva Claes")
    expect(row).to_contain_text(sync_badge(config, ExternalMapping.Status.SYNCED))
    expect(row).to_contain_text(online["uid"])
    # The platforms' column is the list's last: brought into view for the picture.
    row.locator("td.field-sync_state").scroll_into_view_if_needed()
    screenshots.take("reservations-with-the-guests-booking")

    # -- a webhook held back on Zenchef's side: "Poll now" finds the booking ---------------
    zenchef_control(zenchef, "POST", "webhooks", restaurant_uid=SANDBOX_RESTAURANT_UID,
                    url=webhook_url, secret=WEBHOOK_SECRET, hold=True)
    missed = guest_books(zenchef, firstName="Lucas", lastName="Peeters", numberOfPeople=2,
                         telephone="+32475000222", email="lucas@example.test",
                         bookingDateTime=next_weekday(6).isoformat())
    page.goto(change_url(base, config))
    press_object_action(page, SyncPlatformConfig, "poll_now")
    expect_done(page, SyncPlatformConfig, "poll_now", [config])
    run = SyncRun.objects.filter(kind=POLL_KIND, connection=config.connection).get()
    assert (run.status, run.created) == (SyncRun.Status.SUCCESS, 1)
    assert mapped(config, missed["uid"])()
    expect(page.locator(".field-last_sync")).not_to_contain_text(EMPTY)
    screenshots.take("polled")
    page.goto(change_url(base, run))
    expect(page.locator(".field-status_badge")).to_contain_text(str(SyncRun.Status.SUCCESS.label))
    expect(page.locator(".field-created")).to_contain_text("1")
    screenshots.take("poll-run")
    # Every exchange with Zenchef is on the audit trail.
    page.goto(base + reverse("admin:core_synclog_changelist"))
    expect(page.locator("#result_list")).to_contain_text("zenchef.booking.create")
    screenshots.take("sync-logs")
    zenchef_control(zenchef, "POST", "webhooks", restaurant_uid=SANDBOX_RESTAURANT_UID,
                    url=webhook_url, secret=WEBHOOK_SECRET)

    # -- both sides change Eva's booking: a conflict, settled by keeping ours ------------
    eva = mapped_reservation(config, online["uid"])
    # Zenchef turns every call away for a while: the change made here waits to be sent.
    zenchef_control(zenchef, "POST", "faults", rate_limit_every=1)
    page.goto(change_url(base, eva))
    page.locator("#id_party_size").fill("4")
    page.locator('input[name="_continue"]').click()
    expect_success(page)
    push = OutboundOperation.objects.filter(kind=PUSH_RESERVATION,
                                           payload__reservation_id=eva.pk).latest("created_at")
    assert push.state == OutboundOperation.State.FAILED
    # Zenchef does not hold the change yet: its badge says so, not "synced".
    expect(page.locator(".field-sync_state")).to_contain_text(
        sync_badge(config, ExternalMapping.Status.PENDING))
    # Its failed push can be sent again from its page (once Zenchef takes calls again).
    expect(object_action_control(page, Reservation, "retry_pushes")).to_be_enabled()
    screenshots.take("reservation-push-waiting")
    zenchef_control(zenchef, "POST", "faults", rate_limit_every=0)
    # Meanwhile Eva changed her booking on Zenchef herself.
    zenchef_control(zenchef, "PATCH", f"bookings/{online['uid']}", numberOfPeople=5)
    conflicts = Conflict.objects.filter(local_id=str(eva.pk), status=Conflict.Status.OPEN)
    wait_until(conflicts.exists)
    conflict = conflicts.get()

    page.goto(base + reverse("admin:index"))
    page.get_by_role("link", name=gettext("Attention queue"), exact=True).first.click()
    page.locator(f'#result_list a[href="{reverse_change(conflict)}"]').first.click()
    # The field as the reservation's page names it, in the page's language.
    party_size = str(capfirst(Reservation._meta.get_field("party_size").verbose_name))
    differs = page.locator("table.conflict-diff tr.differs").filter(has_text=party_size)
    expect(differs).to_contain_text("4")
    expect(differs).to_contain_text("5")
    screenshots.take("conflict-diff")
    page.get_by_role("button", name=gettext("Keep ours"), exact=True).click()
    expect_success(page, gettext("{count} conflict(s) resolved.").format(count=1))
    screenshots.take("conflict-resolved")
    conflict.refresh_from_db()
    assert conflict.resolution == Conflict.Resolution.KEEP_LOCAL
    # Ours stands here and was sent to Zenchef in full.
    assert zenchef_booking(zenchef, online["uid"])["numberOfPeople"] == 4
    # The conflict names the reservation it was about: the manager follows it.
    page.locator(f'#result_list a[href="{reverse_change(eva)}"]').first.click()
    expect(page.locator("#id_party_size")).to_have_value("4")
    expect(page.locator(".field-sync_state")).to_contain_text(
        sync_badge(config, ExternalMapping.Status.SYNCED))
    # The resolution's push replaced the failed one: nothing is left to retry.
    expect(object_action_control(page, Reservation, "retry_pushes")).to_be_disabled()
    screenshots.take("reservation-after-the-conflict")
