"""Calendars, messaging and partners' webhooks in a manager's day, in a real
browser, in English and in French.

The hub runs on the live server, set up as a first run sets it up. Before
the day starts, the organisation's Google calendar was connected through the
real services against the Google simulator on a real port (the consent
followed over HTTP, as the API's connect and callback do it), and a second
organisation's Google connection broke: its grant was revoked at Google and
the hub's next call was refused. Partners' webhooks are received by local
servers (tests/core/local_server.py); private addresses are allowed for
them, as in development.

The manager sees both integrations, the broken one saying how to reconnect;
registers a partner's endpoint in the admin; an event is created through the
services (as the API creates it) and its eventCreated delivery reaches the
partner; the manager opens the delivery and its attempts, redelivers it and
the partner receives it again under the same message id. A second partner's
endpoint that keeps failing is disabled with an attention item; "Re-enable"
settles it.

Each step leaves a screenshot in test-results/browser/<language>/integrations/;
every page photographed in French is checked for English left on it
(pages.expect_no_english). What is data is excepted where it shows: the
names stored when the integrations were connected (the provider's product
name, "Google Calendar"), why a connection broke and why an endpoint was
disabled (the provider's and the receiver's answers).
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from apps.core.models import AttentionItem, Connection, WebhookDelivery, WebhookEndpoint
from apps.core.outgoing import ENDPOINT_DISABLED, endpoint_create
from apps.integrations import services
from apps.integrations.connect import connect_finish, connect_start, integration_test
from apps.integrations.models import ORGANIZATION_TENANT, Attendance, Integration, Organization
from apps.integrations.outgoing_events import EVENT_CREATED
from tests.browser.pages import (
    SCREENSHOTS_DIR,
    Screenshots,
    expect_done,
    log_in,
    object_action_control,
    press_object_action,
)
from tests.core.local_server import WebhookReceiver

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Where the front end would receive the provider's redirect; never opened here.
REDIRECT_URI = "https://hub.example/integrations/callback"
PARTNER_PATH = "/partner/hooks"


def change_path(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def opened(base: str, obj) -> re.Pattern:
    """The object's page, whatever list filters the admin carries along in the query."""
    return re.compile(re.escape(base + change_path(obj)) + r"(\?.*)?$")


def google_connected(*, organization: Organization, user) -> Integration:
    """The organisation's Google calendar connected as the API's connect and
    callback connect it: the consent at the simulator followed over HTTP."""
    started = connect_start(organization=organization, provider="google", user=user,
                            scopes=None, settings=None, redirect_uri=REDIRECT_URI)
    consent = requests.get(started.auth_url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    query = {key: values[0] for key, values in parse_qs(
        urlsplit(consent.headers["Location"]).query).items()}
    return connect_finish(organization=organization, provider="google", user=user,
                          code=query["code"], state=query["state"]).integration


def google_broken(*, sim, integration: Integration) -> Connection:
    """The account's owner removes the hub's access at Google; the hub's next
    call is refused and its refresh answered invalid_grant: the connection is
    in error, as it would be found in the morning."""
    refresh_token = integration.connection.credentials().refresh_token
    revoked = requests.post(f"{sim.base_url}/revoke", data={"token": refresh_token}, timeout=5)
    assert revoked.ok, revoked.text
    integration_test(integration=integration)
    connection = Connection.objects.get(pk=integration.connection_id)
    assert connection.status == Connection.Status.ERROR, connection.status
    return connection


@pytest.fixture
def partner():
    receiver = WebhookReceiver(path=PARTNER_PATH).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def failing_partner():
    # Every request answered 500: its deliveries die, and the endpoint is disabled.
    receiver = WebhookReceiver(path=PARTNER_PATH, fail_first=10_000).start()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize("language", ["en", "fr"], indirect=True)
def test_calendars_and_partners_webhooks_join_a_managers_day(
        page: Page, language, live_server, demo_login, google_simulator, partner,
        failing_partner, settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
    base = live_server.url
    manager = get_user_model().objects.get(username=demo_login[0])
    sim = google_simulator()
    # A transactional test before this one may have flushed the migration's default one.
    organization, _created = Organization.objects.get_or_create(
        is_default=True, defaults={"name": "Default", "slug": "default"})
    branch = Organization.objects.create(name="Liège branch", slug="liege")
    connected = google_connected(organization=organization, user=manager)
    broken = google_connected(organization=branch, user=manager)
    connection = google_broken(sim=sim, integration=broken)
    # The integrations' and connections' names are written once, with the provider's
    # own product name ("Google Calendar"), whatever the page's language: data.
    names = [name for integration in (connected, broken)
             for name in (integration.name, integration.connection.name)]
    screenshots = Screenshots(page, SCREENSHOTS_DIR / language / "integrations",
                              language=language)

    def take(step: str, *platform_text: str) -> None:
        screenshots.take(step, platform_text=[*names, *platform_text])


    # -- the home page: calendars and messaging among the manager's apps -------------------
    log_in(page, base, *demo_login)
    take("home")
    page.locator("#content-main").get_by_role(
        "link", name=capfirst(Integration._meta.verbose_name_plural), exact=True).click()
    expect(page).to_have_url(base + reverse("admin:integrations_integration_changelist"))

    # -- the integrations: one connected, one in error saying how to reconnect -------------
    rows = page.locator("#result_list tbody tr")
    good = rows.filter(has_text=organization.name)
    expect(good.locator("td.field-status_badge")).to_contain_text(
        str(Connection.Status.CONNECTED.label))
    bad = rows.filter(has_text=branch.name)
    expect(bad.locator("td.field-status_badge")).to_contain_text(
        str(Connection.Status.ERROR.label))
    hint = gettext("Connect again from /api/integrations/%(provider)s/connect") % {
        "provider": "google"}
    expect(bad.locator("td.field-reconnect_hint")).to_contain_text(hint)
    # The hint is the list's last column: brought into view for the picture.
    bad.locator("td.field-reconnect_hint").scroll_into_view_if_needed()
    # Why it broke is the connection's reason, as the provider and the core wrote it.
    take("integrations", connection.status_reason)
    bad.locator("th a").click()
    expect(page).to_have_url(opened(base, broken))
    expect(page.locator(".field-reconnect_hint")).to_contain_text(hint)
    take("integration-in-error", connection.status_reason)
    page.goto(base + change_path(connected))
    expect(page.locator(".field-status_badge")).to_contain_text(
        str(Connection.Status.CONNECTED.label))
    take("integration-connected")

    # -- a partner's endpoint, registered in the admin ---------------------------------------
    page.goto(base + reverse("admin:core_webhookendpoint_add"))
    page.locator("#id_tenant_type").fill(ORGANIZATION_TENANT)
    page.locator("#id_tenant_id").fill(str(organization.pk))
    page.locator("#id_url").fill(partner.url)
    page.locator("#id_description").fill("Partner CRM")
    page.locator(f'input[name="event_types"][value="{EVENT_CREATED}"]').check()
    take("endpoint-add")
    page.locator('input[name="_continue"]').click()
    endpoint = WebhookEndpoint.objects.get(url=partner.url)
    expect(page).to_have_url(opened(base, endpoint))
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    expect(page.locator(".field-state_badge")).to_contain_text(gettext("Active"))
    take("endpoint-saved")

    # -- an event created through the services (as the API creates it) ---------------------
    start = timezone.now() + timedelta(days=2)
    event = services.event_create(
        organization=organization, user=manager,
        data={"title": "First-aid training", "type": "training", "start": start,
              "end": start + timedelta(hours=3), "location": "Room 2"},
        attendees=[{"email": "nora.flexi@example.com", "name": "Nora Flexi",
                    "status": Attendance.Status.ACCEPTED},
                   {"email": "lucas.peeters@example.com", "name": "Lucas Peeters"}])
    services.attendance_record(event=event, email="lucas.peeters@example.com",
                               status=Attendance.Status.DECLINED)
    [(headers, _body)] = partner.wait_for_count(1)
    [delivery] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert headers["webhook-id"] == delivery.message_id
    assert partner.events()[0]["type"] == EVENT_CREATED
    assert partner.events()[0]["data"]["id"] == event.pk

    # -- the event and its attendance -------------------------------------------------------
    page.goto(base + reverse("admin:integrations_event_changelist"))
    page.locator("#result_list").get_by_role("link", name=event.title, exact=True).click()
    attendees = page.locator("#attendances-group tbody tr")
    nora = attendees.filter(has_text="Nora Flexi")
    expect(nora).to_contain_text(str(Attendance.Status.ACCEPTED.label))
    expect(nora).not_to_contain_text("nora.flexi@example.com")
    expect(attendees.filter(has_text="Lucas Peeters")).to_contain_text(
        str(Attendance.Status.DECLINED.label))
    take("event-with-its-attendance")

    # -- the delivery and its attempt; redelivered under the same message id ---------------
    page.goto(base + change_path(endpoint))
    page.locator(".field-see_also").get_by_role("link").click()
    deliveries = page.locator("#result_list tbody tr")
    expect(deliveries).to_have_count(1)
    expect(deliveries).to_contain_text(str(WebhookDelivery.Status.SUCCEEDED.label))
    take("deliveries")
    deliveries.first.locator("th a").click()
    expect(page).to_have_url(opened(base, delivery))
    expect(page.locator(".field-message_id")).to_contain_text(delivery.message_id)
    attempts = page.locator(".field-attempt_rows tbody tr")
    expect(attempts).to_have_count(1)
    take("delivery")
    press_object_action(page, WebhookDelivery, "redeliver")
    expect_done(page, WebhookDelivery, "redeliver", [delivery])
    received = partner.wait_for_count(2)
    assert [headers["webhook-id"] for headers, _body in received] == [delivery.message_id] * 2
    expect(attempts).to_have_count(2)
    expect(page.locator(".field-status_badge")).to_contain_text(
        str(WebhookDelivery.Status.SUCCEEDED.label))
    take("delivery-redelivered")

    # -- a second partner's endpoint keeps failing: disabled, with an attention item -------
    failing = endpoint_create(url=failing_partner.url, event_types=[EVENT_CREATED],
                              tenant_type=ORGANIZATION_TENANT, tenant_id=str(organization.pk),
                              description="Partner payroll", max_retries=0)
    for number in range(django_settings.OUTGOING_WEBHOOKS_DISABLE_AFTER):
        services.event_create(organization=organization, user=manager, data={
            "title": f"Team meeting {number + 1}", "type": "meeting",
            "start": start + timedelta(days=number + 1),
            "end": start + timedelta(days=number + 1, hours=1)})
    failing.refresh_from_db()
    assert not failing.is_active
    item = AttentionItem.objects.open().get(kind=ENDPOINT_DISABLED, object_id=str(failing.pk))
    page.goto(base + reverse("admin:index"))
    page.get_by_role("link", name=gettext("Attention queue"), exact=True).first.click()
    expect(page.locator(f'#result_list a[href="{change_path(failing)}"]').first).to_be_visible()
    # Why it was disabled names the receiver's own answer ("answered 500 ...").
    take("attention-queue", failing.disabled_reason)
    page.locator(f'#result_list a[href="{change_path(failing)}"]').first.click()
    expect(page.locator(".field-state_badge")).to_contain_text(gettext("Disabled"))
    expect(object_action_control(page, WebhookEndpoint, "reenable")).to_be_enabled()
    take("endpoint-disabled", failing.disabled_reason)
    press_object_action(page, WebhookEndpoint, "reenable")
    expect_done(page, WebhookEndpoint, "reenable", [failing])
    expect(page.locator(".field-state_badge")).to_contain_text(gettext("Active"))
    expect(object_action_control(page, WebhookEndpoint, "reenable")).to_be_disabled()
    item.refresh_from_db()
    assert not AttentionItem.objects.open().filter(pk=item.pk).exists()
    take("endpoint-re-enabled")
    page.goto(base + reverse("admin:core_attentionitem_changelist"))
    expect(page.locator(f'#result_list a[href="{change_path(failing)}"]')).to_have_count(0)
    take("attention-settled")
