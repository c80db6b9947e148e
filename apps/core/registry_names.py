"""One rule for every registry of the core (platforms, outbox handlers, inbox processors)."""

from __future__ import annotations

from typing import Any


class DuplicateRegistration(Exception):
    """Two domain apps (or two functions) claim the same name."""


def refuse_duplicate(registry: dict[str, Any], name: str, value: Any) -> None:
    """Registering the same thing twice is harmless (a module imported again);
    registering something else under a taken name is a mistake, refused at start-up."""
    existing = registry.get(name)
    if existing is None or existing is value or _same_function(existing, value):
        return
    raise DuplicateRegistration(f"{name!r} is already registered by {_describe(existing)}")


def _same_function(a: Any, b: Any) -> bool:
    # A module imported under its dotted path and again by a test loader
    # gives two function objects for one definition.
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None), getattr(b, "__qualname__", None)) and callable(a)


def _describe(value: Any) -> str:
    return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
