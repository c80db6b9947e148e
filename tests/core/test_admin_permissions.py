"""A staff account without any permission is refused every page of the back-office.

The walk goes through every address the admin site registers, the hub's own
pages (Live, platform health, app index, view on site) as well as the model
pages Django guards itself, so a page added later without a permission check
fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, reverse
from django.urls.resolvers import RegexPattern
from django.utils import timezone
from django.views.generic import RedirectView
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from apps.core.models import ApiToken, OutboundOperation
from apps.dimona.models import DimonaDeclaration
from tests.dimona.factories import ShiftFactory
from tests.factories import (
    OutboundOperationFactory,
    SyncLogFactory,
    UserFactory,
    WebhookEventFactory,
)
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db

# Pages every staff account may open, by URL name.
OPEN_TO_EVERY_STAFF_ACCOUNT = {
    "index",
    "login",
    "logout",
    # One's own password: every account may change it, and nothing else.
    "password_change",
    "password_change_done",
    # The translations of the admin's JavaScript: no data in it.
    "jsi18n",
}
# Django's last pattern answers 404 for any address that exists nowhere else.
CATCH_ALL_VIEW = "catch_all_view"
PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Address:
    url: str
    pattern: str
    name: str | None
    # The old "<id>/" address of an object only redirects to its change page,
    # which is walked (and refused) on its own; it reads nothing itself.
    redirects_to: str | None = None

    def expected_status(self, method: str) -> int:
        if self.redirects_to:
            return 302
        if self.name == "autocomplete" and method == "post":
            # The autocomplete only answers GET; its GET is refused like the rest.
            return 405
        return 403


def _fill(route: str, values: dict[str, object]) -> str:
    def value(match: re.Match) -> str:
        if match[1] not in values:
            raise AssertionError(f"The walk does not know what to put in <{match[1]}> of "
                                 f"{route!r}: teach it.")
        return str(values[match[1]])

    return PLACEHOLDER.sub(value, route)


def _model_addresses(model, patterns, prefix: str) -> list[Address]:
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"The walk needs a {model._meta.label} row to open its pages."
    values = {"object_id": obj.pk, "id": obj.pk}
    change = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
    addresses = []
    for pattern in patterns:
        assert isinstance(pattern, URLPattern), f"Nested URLs under {prefix}: teach the walk."
        route = prefix + str(pattern.pattern)
        redirect = getattr(pattern.callback, "view_class", None) is RedirectView
        addresses.append(Address(
            url=reverse("admin:index") + _fill(route, values), pattern=route, name=pattern.name,
            redirects_to=reverse(change, args=[obj.pk]) if redirect else None))
    return addresses


def admin_addresses(site=admin.site) -> list[Address]:
    """Every address of the admin site, each object-level one filled with a real row."""
    models = {f"{model._meta.app_label}/{model._meta.model_name}/": model
              for model in site._registry}
    app_labels = sorted({model._meta.app_label for model in site._registry})
    root = reverse("admin:index")
    addresses = []
    for entry in site.get_urls():
        if isinstance(entry, URLResolver):
            prefix = str(entry.pattern)
            assert prefix in models, f"Admin URLs under {prefix!r}, not a model's: teach the walk."
            addresses += _model_addresses(models[prefix], entry.url_patterns, prefix)
        elif isinstance(entry.pattern, RegexPattern):
            if entry.callback.__name__ == CATCH_ALL_VIEW:
                continue
            assert entry.name == "app_list", f"Unknown admin regex {entry.pattern}: teach the walk."
            addresses += [Address(url=f"{root}{label}/", pattern=str(entry.pattern),
                                  name=entry.name) for label in app_labels]
        elif entry.name in OPEN_TO_EVERY_STAFF_ACCOUNT:
            continue
        elif entry.name == "view_on_site":
            for model in site._registry:
                obj = model._default_manager.order_by("pk").first()
                values = {"content_type_id": ContentType.objects.get_for_model(model).pk,
                          "object_id": obj.pk}
                addresses.append(Address(url=root + _fill(str(entry.pattern), values),
                                         pattern=str(entry.pattern), name=entry.name))
        else:
            addresses.append(Address(url=root + _fill(str(entry.pattern), {}),
                                     pattern=str(entry.pattern), name=entry.name))
    return addresses


@pytest.fixture
def one_of_each():
    """A row of every model the admin shows, so that every object page exists."""
    shift = ShiftFactory()
    DimonaDeclaration.objects.create(shift=shift, kind=DimonaDeclaration.Kind.IN)
    InterventionFactory()
    operation = OutboundOperationFactory()
    SyncLogFactory(operation=operation)
    WebhookEventFactory()
    ApiToken.issue(UserFactory())
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="sweep", task="core.sweep", interval=interval)
    CrontabSchedule.objects.create(minute="0", hour="20")
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(event="sunrise", latitude=50.85, longitude=4.35)
    from tests.core.sync_rows import sync_rows

    sync_rows()
    _restosync_rows()
    _tuniclaim_rows()
    _outgoing_webhook_rows()
    from tests.integrations.factories import integrations_rows

    integrations_rows()


def _restosync_rows() -> None:
    from apps.restosync import services as restosync
    from tests.restosync import factories

    restaurant = factories.RestaurantFactory()
    room = factories.DiningRoomFactory(restaurant=restaurant)
    factories.DiningTableFactory(restaurant=restaurant, room=room)
    factories.DiningServiceFactory(restaurant=restaurant)
    factories.OfferFactory(restaurant=restaurant)
    factories.CustomerFactory(restaurant=restaurant)
    factories.make_reservation(restaurant=restaurant)
    restosync.platform_config_create(restaurant=restaurant, platform="zenchef",
                                     api_key="key", restaurant_uid="uid")


def _tuniclaim_rows() -> None:
    from tests.tuniclaim.factories import BulletinSoinItemFactory, QuarantinedRecordFactory

    BulletinSoinItemFactory()  # with its claim, bordereau, client and contract
    QuarantinedRecordFactory()


def _outgoing_webhook_rows() -> None:
    from apps.core.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint(url="https://hooks.example.com/events", event_types=["x"])
    endpoint.set_secret("whsec_" + "A" * 44)
    endpoint.save()
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="x",
                                   message_id="msg_one_of_each", payload={})


@pytest.fixture
def outsider(client):
    """A staff account in no group and with no permission."""
    user = UserFactory(username="outsider", is_staff=True)
    client.force_login(user)
    return user


def _row_counts() -> dict[str, int]:
    models = [*admin.site._registry, OutboundOperation]
    return {model._meta.label: model._default_manager.count() for model in models}


@pytest.mark.usefixtures("one_of_each", "outsider")
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_every_admin_page_to_a_staff_account_without_permissions(client, method):
    addresses = admin_addresses()
    before = _row_counts()

    wrong = []
    for address in addresses:
        response = getattr(client, method)(address.url)
        expected = address.expected_status(method)
        if response.status_code != expected or (
                address.redirects_to and response["Location"] != address.redirects_to):
            wrong.append(f"{method.upper()} {address.url} answered {response.status_code}, "
                         f"not {expected}")

    assert not wrong, "\n".join(wrong)
    assert _row_counts() == before
    walked = {address.url for address in addresses}
    assert {"/admin/dimona/shift/live/", "/admin/platform-health/", "/admin/dimona/",
            "/admin/core/"} <= walked


def test_it_hides_the_platform_health_link_from_who_may_not_open_it(client, outsider):
    page = client.get(reverse("admin:index"))

    assert page.status_code == 200
    assert reverse("admin:platform-health").encode() not in page.content


def test_it_opens_view_on_site_to_who_may_view_the_model(client, outsider):
    shift = ShiftFactory()
    outsider.user_permissions.add(Permission.objects.get(codename="view_shift"))
    url = reverse("admin:view_on_site",
                  args=[ContentType.objects.get_for_model(shift).pk, shift.pk])
    worker_url = reverse("admin:view_on_site",
                         args=[ContentType.objects.get_for_model(shift.worker).pk,
                               shift.worker.pk])

    # A shift has no public page: past the permission check, Django answers 404.
    assert client.get(url).status_code == 404
    assert client.get(worker_url).status_code == 403
    assert client.get(reverse("admin:view_on_site", args=[987654, 1])).status_code == 403
