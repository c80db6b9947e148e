"""A first run as a new user meets it: the README's set-up (`manage.py
setup_hub`, what scripts/run.sh runs) on an empty database, the demo manager's
login as the set-up prints it, the real login form, then every admin page.

The pages are found, not listed: the admin site's own URLs, every registered
model's list, add and change pages and each model admin's own URLs. An
address that needs a parameter this test does not know how to fill fails
the test, so a new kind of page cannot go unvisited.

Only collectstatic is left out of the set-up: pages name their static files
without reading them (CompressedStaticFilesStorage has no manifest).
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, reverse

from apps.core.admin_display import entity_of, entity_url
from apps.core.api.permissions import MANAGER_GROUP
from apps.core.registry import registered_domains

pytestmark = pytest.mark.django_db

LOGIN_LINE = re.compile(r"Demo manager login: username '(?P<username>[^']+)', "
                        r"password '(?P<password>[^']+)'")
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Admin site addresses that are not pages to open: each says why.
NOT_PAGES = {
    "login": "the form this test logs in with",
    "logout": "POST only, and it would end the session",
    "autocomplete": "answers a widget's query and needs its parameters",
    "view_on_site": "leaves the admin for the public site",
}


@pytest.fixture(scope="module")
def set_up(django_db_setup, django_db_blocker) -> str:
    """The README's set-up on the test database as migrated, once for this
    module (it takes seconds); its output. Emptied again afterwards, as a
    transactional test leaves it."""
    out = StringIO()
    # The tests' fast hasher (tests/conftest.py) already, or the login could
    # not read the password the set-up stored.
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("setup_hub", "--no-collectstatic", stdout=out)
    yield out.getvalue()
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def manager_browser(set_up) -> Client:
    """A browser logged in as the demo manager through the real login form."""
    credentials = LOGIN_LINE.search(set_up)
    assert credentials, set_up
    browser = Client(enforce_csrf_checks=True)
    form = browser.get(reverse("admin:login"))
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())
    response = browser.post(reverse("admin:login"), {
        "csrfmiddlewaretoken": token.group(1), "next": reverse("admin:index"),
        **credentials.groupdict()})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("admin:index")
    return browser


@pytest.fixture
def as_manager(set_up):
    """A request of the demo manager, to ask each model admin what it allows him."""
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username=LOGIN_LINE.search(set_up)["username"])
    return request


def _opens(browser: Client, url: str) -> None:
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)


def _first_object(model_admin, request):
    return model_admin.get_queryset(request).order_by("pk").first()


def test_it_gives_the_manager_every_domain_models_permissions_on_a_fresh_database(set_up):
    manager = Group.objects.get(name=MANAGER_GROUP)
    granted = set(manager.permissions.values_list("content_type__app_label", "codename"))

    checked = set()
    for domain in registered_domains():
        # Domains registered before they are built have no models yet.
        if not list(apps.get_app_config(domain.label).get_models()):
            continue
        models = Permission.objects.filter(content_type__app_label=domain.label)
        assert models.exists(), domain.label
        checked.add(domain.label)
        for app_label, codename in models.values_list("content_type__app_label", "codename"):
            model = codename.split("_", 1)[1]
            if model in domain.manager_view_only and not codename.startswith("view_"):
                assert (app_label, codename) not in granted
            else:
                assert (app_label, codename) in granted, (app_label, codename)
    assert {"dimona", "symphonics"} <= checked


def test_it_opens_the_admin_home_and_every_app_page(manager_browser):
    response = manager_browser.get(reverse("admin:index"))

    assert response.status_code == 200
    shown = {app["app_label"] for app in response.context["app_list"]}
    assert {"dimona", "symphonics"} <= shown
    for app_label in shown:
        _opens(manager_browser, reverse("admin:app_list", kwargs={"app_label": app_label}))


def test_it_opens_every_list_add_and_change_page_the_manager_may_see(manager_browser,
                                                                      as_manager):
    domain_labels = {domain.label for domain in registered_domains()
                     if list(apps.get_app_config(domain.label).get_models())}
    opened = set()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        if not model_admin.has_view_or_change_permission(as_manager):
            # Not his to see (users, groups): refused, never a server error.
            assert opts.app_label not in domain_labels, opts.label
            assert manager_browser.get(changelist).status_code == 403, opts.label
            continue
        _opens(manager_browser, changelist)
        if model_admin.has_add_permission(as_manager):
            _opens(manager_browser, reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        obj = _first_object(model_admin, as_manager)
        if obj is not None:
            _opens(manager_browser, reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                            args=[obj.pk]))
            _opens(manager_browser, reverse(f"admin:{opts.app_label}_{opts.model_name}_history",
                                            args=[obj.pk]))
        opened.add(opts.app_label)
    # The demo data gives each domain objects to open.
    assert domain_labels <= opened


def test_it_opens_every_page_of_the_admin_sites_own(manager_browser, as_manager):
    for pattern in admin.site.get_urls():
        # Unnamed: the catch-all that sends any other address to the login or a 404.
        if not isinstance(pattern, URLPattern) or not pattern.name or pattern.name in NOT_PAGES:
            continue
        if pattern.name == "app_list":
            continue  # every app's page is opened above
        if pattern.name == "core_entity":
            _opens_entity_links(manager_browser, as_manager)
            continue
        assert not pattern.pattern.converters and not pattern.pattern.regex.groups, (
            f"Admin page {pattern.name!r} takes parameters: teach this test to fill them.")
        _opens(manager_browser, reverse(f"admin:{pattern.name}"))


def _opens_entity_links(browser: Client, request) -> None:
    """The audit trail's and outbox's links to an object lead to its page."""
    for model_admin in admin.site._registry.values():
        if not model_admin.has_view_or_change_permission(request):
            continue
        obj = _first_object(model_admin, request)
        if obj is None:
            continue
        url = entity_url(*entity_of(obj))
        if not url:
            continue  # a model the audit trail has no link for
        response = browser.get(url)
        assert response.status_code == 302, (url, response.status_code)
        _opens(browser, response["Location"])


def test_it_opens_every_page_a_model_admin_adds(manager_browser, as_manager):
    standard = {"changelist", "add", "history", "delete", "change"}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if not model_admin.has_view_or_change_permission(as_manager):
            continue
        obj = _first_object(model_admin, as_manager)
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern) or not pattern.name or pattern.name in {
                    f"{opts.app_label}_{opts.model_name}_{name}" for name in standard}:
                continue
            parameters = set(pattern.pattern.converters)
            assert parameters <= {"object_id"}, (
                f"Admin page {pattern.name!r} takes {parameters}: teach this test to fill them.")
            if not parameters:
                _opens(manager_browser, reverse(f"admin:{pattern.name}"))
            elif obj is not None:
                _opens_object_page(manager_browser, reverse(f"admin:{pattern.name}",
                                                            args=[obj.pk]), model_admin, obj)


def _opens_object_page(browser: Client, url: str, model_admin, obj) -> None:
    """An object action's page: its confirmation (200), or, when the object's
    state does not allow the action now, back to the object's page (302)
    with the reason as a message. A GET never runs the action."""
    response = browser.get(url)
    if response.status_code == 302:
        opts = model_admin.opts
        assert response["Location"] == reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]), url
        _opens(browser, response["Location"])
        return
    assert response.status_code == 200, (url, response.status_code)
