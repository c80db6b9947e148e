"""The platforms the hub talks to, as registered by each domain app.

Domain apps declare their platforms in their `DomainApp`
(apps.core.registry), which registers them here. Only used to list them
(health page, sweeps, admin filters); each domain builds its own client
from its own Platform.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.core.http import Platform
from apps.core.registry_names import refuse_duplicate

_registry: dict[str, Callable[[], Platform]] = {}


def register_platform(name: str, factory: Callable[[], Platform]) -> None:
    """`factory` builds the Platform from current settings (tests change them)."""
    refuse_duplicate(_registry, name, factory)
    _registry[name] = factory


def platform_registered(name: str) -> bool:
    return name in _registry


def registered_platforms() -> list[Platform]:
    return [factory() for _, factory in sorted(_registry.items())]
