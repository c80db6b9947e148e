"""Shared test set-up.

Celery runs tasks eagerly (in the test's process and transaction). The
shared store is emptied between tests: Redis' test database is flushed when
REDIS_URL is set, the in-process store is rebuilt otherwise. Tests marked
`redis` need a real Redis; they are skipped without one, except in CI
(REQUIRE_SERVICES=1), where a missing service is a failure.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

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


def pytest_collection_modifyitems(config, items):
    if settings.REDIS_URL:
        return
    if os.environ.get("REQUIRE_SERVICES"):
        raise pytest.UsageError("REQUIRE_SERVICES is set but REDIS_URL is not.")
    skip = pytest.mark.skip(reason="needs a real Redis (set REDIS_URL)")
    for item in items:
        if "redis" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def manager_user(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("manager", password="pw-manager-1")
    user.groups.add(Group.objects.get(name="Manager"))
    return user


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
