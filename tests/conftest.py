"""Shared test set-up.

Celery runs tasks eagerly (in the test's process and transaction). The
shared store is emptied between tests: Redis' test database is flushed when
REDIS_URL is set, the in-process store is rebuilt otherwise. Tests marked
`redis` need a real Redis, tests marked `postgres` PostgreSQL (SQLite's
in-memory test database refuses a second writer at once instead of making
it wait); they are skipped without them, except in CI (REQUIRE_SERVICES=1),
where a missing service is a failure.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from apps.core import store as store_module
from config.celery import app as celery_app

celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _clean_shared_store():
    store_module._store_for.cache_clear()
    if settings.REDIS_URL:
        store_module.shared_store().client.flushdb()
    yield
    store_module._store_for.cache_clear()


@pytest.fixture(autouse=True)
def _clean_database_store(request, django_db_blocker):
    yield
    # On PostgreSQL the database store commits on a connection of its own even
    # inside a test's transaction, so the test's rollback does not undo it.
    used_db = ("db" in request.fixturenames or "transactional_db" in request.fixturenames
               or request.node.get_closest_marker("django_db"))
    if not settings.REDIS_URL and used_db and connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            store_module.DatabaseStore().clear()


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    missing = {
        "redis": None if settings.REDIS_URL else "needs a real Redis (set REDIS_URL)",
        "postgres": None if on_postgres else "needs PostgreSQL (set DATABASE_URL)",
    }
    missing = {marker: reason for marker, reason in missing.items() if reason}
    if missing and os.environ.get("REQUIRE_SERVICES"):
        raise pytest.UsageError(f"REQUIRE_SERVICES is set but: {', '.join(missing.values())}.")
    for item in items:
        for marker, reason in missing.items():
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def manager_user(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("manager", password="pw-manager-1")
    user.groups.add(Group.objects.get(name="Manager"))
    return user


@pytest.fixture
def manager_client(client, manager_user):
    """The back-office as a Manager sees it, not as a superuser who bypasses every check."""
    manager_user.is_staff = True
    manager_user.save(update_fields=["is_staff"])
    client.force_login(manager_user)
    return client


@pytest.fixture
def api_client(manager_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(manager_user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs half a second per user created.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    """The .mo files are not committed: compile them once per run, as the set-up does,
    and drop any catalogue Django loaded before they existed."""
    from pathlib import Path

    from django.utils.translation import trans_real

    from apps.core.management.commands.compile_translations import compile_catalogues

    compile_catalogues(locale_paths=[Path(path) for path in settings.LOCALE_PATHS])
    trans_real._translations = {}
    trans_real._default = None
