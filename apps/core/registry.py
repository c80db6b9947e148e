"""One registration per domain app: everything the core must know about it.

A domain app describes itself once, in its `AppConfig.ready()`, with a
`DomainApp`: its platforms, the modules whose decorators register its outbox
handlers and inbox processors, the operation kinds those define, its
schedules, its demo loader and which of its models Managers may only view.
`register_domain()` checks the whole description before anything is
registered, so a clash leaves no half-registered app behind, then feeds the
core's registries (platforms, retry policies, schedules, demo loaders).

Names are owned: a platform, operation kind or schedule belongs to the first
domain that claims it, and another domain claiming it is refused at
start-up with both owners named. That is what lets the admin filters, the
attention queue and the group permissions take the list of domains from
here instead of a list kept by hand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

from apps.core.registry_names import DuplicateRegistration

if TYPE_CHECKING:
    # Only for annotations: apps.py files import this module while the app
    # registry loads, before models (celery-beat's among them) can be imported.
    from django.http import HttpRequest

    from apps.core.dashboard import DashboardPanel
    from apps.core.http import Platform
    from apps.core.schedules import Schedule


@dataclass(frozen=True, eq=False)
class DomainApp:
    """What a domain app brings to the core. Only `label` is required: an app
    still to be built registers so its permissions reach the groups."""

    # The Django app label; also the `domain` of its attention items.
    label: str
    verbose_name: str = ""
    # Platform name → a factory building its Platform from current settings
    # (tests change the settings, so it is called at each use).
    platforms: Mapping[str, Callable[[], Platform]] = field(default_factory=dict)
    # Platform name → its OutboxRetryPolicy, for the platforms that have one.
    retry_policies: Mapping[str, Any] = field(default_factory=dict)
    # Dotted modules imported for their `@operation_handler` and
    # `@webhook_processor` decorators.
    handler_modules: tuple[str, ...] = ()
    # The outbox kinds those modules define, and the platforms whose inbox
    # events they process: declared, so another domain cannot take them.
    operation_kinds: tuple[str, ...] = ()
    webhook_platforms: tuple[str, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    # Model names (lower case) whose rows Managers may see but not change;
    # they change every other model of the app.
    manager_view_only: frozenset[str] = frozenset()
    demo_loader: Callable[[], str] | None = None
    # Its panels on the back-office home page: each builder gets the request
    # and returns a `DashboardPanel` (apps/core/dashboard.py), or None when the
    # user may not view the models the panel shows.
    dashboard_panels: tuple[Callable[[HttpRequest], DashboardPanel | None], ...] = ()
    # Anything else to run once the app is registered (a registration the
    # description has no field for yet).
    extras: tuple[Callable[[], None], ...] = ()

    def names(self) -> dict[str, tuple[str, ...]]:
        """What this domain claims, by kind of name."""
        return {
            "platform": tuple(self.platforms),
            "operation kind": self.operation_kinds,
            "schedule": tuple(schedule.name for schedule in self.schedules),
        }


_domains: dict[str, DomainApp] = {}
# (kind of name, name) → the label of the domain that owns it.
_owners: dict[tuple[str, str], str] = {}


def register_domain(domain: DomainApp) -> DomainApp:
    """Register a domain app once; the same description again is harmless."""
    if _domains.get(domain.label) is domain:
        return domain
    _check(domain)
    for module in domain.handler_modules:
        importlib.import_module(module)
    _register_parts(domain)
    _domains[domain.label] = domain
    for kind, names in domain.names().items():
        for name in names:
            _owners[(kind, name)] = domain.label
    for extra in domain.extras:
        extra()
    return domain


def _check(domain: DomainApp) -> None:
    from apps.core.platforms import platform_registered

    if domain.label in _domains:
        raise DuplicateRegistration(f"a domain app labelled {domain.label!r} is already "
                                    f"registered ({_domains[domain.label].verbose_name})")
    for kind, names in domain.names().items():
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise DuplicateRegistration(f"{domain.label} declares the {kind} "
                                        f"{', '.join(map(repr, repeated))} twice")
        for name in names:
            owner = _owners.get((kind, name))
            if owner is not None:
                raise DuplicateRegistration(f"the {kind} {name!r} of {domain.label} already "
                                            f"belongs to the domain app {owner!r}")
    for name in domain.platforms:
        if platform_registered(name):
            raise DuplicateRegistration(f"the platform {name!r} of {domain.label} is already "
                                        "registered outside any domain app")
    for name in (*domain.retry_policies, *domain.webhook_platforms):
        if name not in domain.platforms:
            raise ValueError(f"{domain.label} names the platform {name!r}, which is not "
                             "one of its own")


def _register_parts(domain: DomainApp) -> None:
    from apps.core.demo import register_demo_loader
    from apps.core.operations import register_retry_policy
    from apps.core.platforms import register_platform
    from apps.core.schedules import register_schedule

    for name, factory in domain.platforms.items():
        register_platform(name, factory)
    for name, policy in domain.retry_policies.items():
        register_retry_policy(name, policy)
    for schedule in domain.schedules:
        register_schedule(schedule)
    if domain.demo_loader is not None:
        register_demo_loader(domain.label, domain.demo_loader)


def registered_domains() -> list[DomainApp]:
    return [domain for _, domain in sorted(_domains.items())]


def domain_of(kind: str, name: str) -> str | None:
    """The label of the domain owning a name (`domain_of("platform", "dimona")`)."""
    return _owners.get((kind, name))


class DomainAppConfig(AppConfig):
    """An AppConfig whose `ready()` registers the app's `DomainApp`.

    Subclasses implement `domain()`, importing their modules inside it:
    models and services can only be imported once the registry is ready.
    """

    def domain(self) -> DomainApp:
        return DomainApp(label=self.label, verbose_name=self.verbose_name)

    def ready(self) -> None:
        register_domain(self.domain())
