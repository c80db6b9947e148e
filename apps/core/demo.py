"""Demo data for a first run: each domain app registers its own loader."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.core.api.permissions import MANAGER_GROUP

DEMO_MANAGER = "manager"

_loaders: dict[str, Callable[[], str]] = {}


def register_demo_loader(name: str, loader: Callable[[], str]) -> None:
    """`loader` creates its demo rows idempotently and describes them in one line."""
    _loaders[name] = loader


def demo_manager_reset() -> tuple[str, str]:
    """Create (or reset) the demo manager with a fresh random password."""
    user, _ = get_user_model().objects.get_or_create(username=DEMO_MANAGER)
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.is_staff = True
    user.is_active = True
    user.save()
    user.groups.add(Group.objects.get(name=MANAGER_GROUP))
    return DEMO_MANAGER, password


def demo_data_load() -> list[str]:
    return [f"{name}: {loader()}" for name, loader in sorted(_loaders.items())]
