"""One registration per domain app: names are owned, clashes refused, groups follow it."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.contrib.auth.models import Group

from apps.core import demo, platforms, registry, schedules
from apps.core.groups import group_permissions_sync
from apps.core.http import Platform
from apps.core.registry import DomainApp, register_domain, registered_domains
from apps.core.registry_names import DuplicateRegistration
from apps.core.schedules import Every, Schedule, register_schedule, registered_schedules


@pytest.fixture(autouse=True)
def isolated_registries(monkeypatch):
    """Each test registers into copies, so the real apps' registrations stay as they are."""
    monkeypatch.setattr(registry, "_domains", dict(registry._domains))
    monkeypatch.setattr(registry, "_owners", dict(registry._owners))
    monkeypatch.setattr(platforms, "_registry", dict(platforms._registry))
    monkeypatch.setattr(schedules, "_schedules", dict(schedules._schedules))
    monkeypatch.setattr(demo, "_loaders", dict(demo._loaders))


def acme_platform() -> Platform:
    return Platform(name="acme", base_url="http://127.0.0.1:9")


def acme_demo() -> str:
    return "nothing to load"


ACME_SCHEDULE = Schedule(name="acme: poll", task="acme.poll", when=Every(seconds=300),
                         description="Every five minutes: poll Acme.")


def _codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")}


def test_it_registers_everything_a_domain_app_declares():
    acme = register_domain(DomainApp(
        label="acme", verbose_name="Acme", platforms={"acme": acme_platform},
        schedules=(ACME_SCHEDULE,), demo_loader=acme_demo))

    assert acme in registered_domains()
    assert "acme" in [platform.name for platform in platforms.registered_platforms()]
    assert ACME_SCHEDULE in registered_schedules()
    assert demo._loaders["acme"] is acme_demo
    assert registry.domain_of("platform", "acme") == "acme"
    assert registry.domain_of("schedule", "acme: poll") == "acme"


def test_it_takes_the_same_registration_twice_as_one():
    acme = DomainApp(label="acme", platforms={"acme": acme_platform})

    register_domain(acme)
    register_domain(acme)

    assert [domain.label for domain in registered_domains()].count("acme") == 1


def test_it_refuses_a_second_domain_app_with_a_taken_label():
    with pytest.raises(DuplicateRegistration, match="'dimona' is already registered"):
        register_domain(DomainApp(label="dimona", verbose_name="Another Dimona"))


@pytest.mark.parametrize(("claim", "name"), [
    ({"platforms": {"symphonics": acme_platform}}, "platform 'symphonics'"),
    ({"operation_kinds": ("dimona.declaration",)}, "operation kind 'dimona.declaration'"),
    ({"schedules": (dataclasses.replace(ACME_SCHEDULE,
                                        name="symphonics: poll open interventions"),)},
     "schedule 'symphonics: poll open interventions'"),
])
def test_it_refuses_a_name_another_domain_app_owns(claim, name):
    expected = re.escape(f"{name} of acme already belongs to")
    with pytest.raises(DuplicateRegistration, match=expected):
        register_domain(DomainApp(label="acme", **claim))


def test_it_leaves_nothing_registered_when_a_domain_app_is_refused():
    refused = DomainApp(label="acme", platforms={"acme": acme_platform},
                        schedules=(ACME_SCHEDULE,), operation_kinds=("dimona.declaration",))

    with pytest.raises(DuplicateRegistration):
        register_domain(refused)

    assert "acme" not in [domain.label for domain in registered_domains()]
    assert not platforms.platform_registered("acme")
    assert ACME_SCHEDULE not in registered_schedules()
    # Nothing of it is owned either: a corrected registration goes through.
    register_domain(dataclasses.replace(refused, operation_kinds=("acme.order.push",)))


def test_it_refuses_a_name_declared_twice_by_one_domain_app():
    expected = re.escape("declares the operation kind 'acme.push' twice")
    with pytest.raises(DuplicateRegistration, match=expected):
        register_domain(DomainApp(label="acme", operation_kinds=("acme.push", "acme.push")))


def test_it_refuses_a_platform_registered_outside_any_domain_app():
    platforms.register_platform("acme", acme_platform)

    with pytest.raises(DuplicateRegistration, match="outside any domain app"):
        register_domain(DomainApp(label="acme", platforms={"acme": acme_platform}))


def test_it_refuses_a_retry_policy_or_inbox_for_a_platform_of_another_domain():
    with pytest.raises(ValueError, match="'symphonics', which is not one of its own"):
        register_domain(DomainApp(label="acme", platforms={"acme": acme_platform},
                                  webhook_platforms=("symphonics",)))


def test_it_refuses_another_schedule_under_a_core_schedule_name():
    taken = dataclasses.replace(ACME_SCHEDULE, name="core: sweep the outbox and inbox")

    expected = re.escape("already registered for the task 'core.sweep'")
    with pytest.raises(DuplicateRegistration, match=expected):
        register_schedule(taken)


@pytest.mark.django_db
def test_it_gives_the_groups_the_permissions_of_the_registered_domain_apps(monkeypatch):
    dimona = next(domain for domain in registered_domains() if domain.label == "dimona")
    # Only Dimona is registered, and its shifts are view-only for Managers.
    monkeypatch.setattr(registry, "_domains", {"dimona": dataclasses.replace(
        dimona, manager_view_only=frozenset({"shift"}))})

    group_permissions_sync()

    manager, admin = _codenames("Manager"), _codenames("Admin")
    assert {"dimona.view_shift", "dimona.change_dimonadeclaration"} <= manager
    assert "dimona.change_shift" not in manager
    assert "dimona.change_shift" in admin
    assert not any(name.startswith("symphonics.") for name in manager | admin)
    # The core's own permissions do not depend on the domains.
    assert {"core.view_synclog", "core.change_outboundoperation"} <= manager
