"""Every page of the back-office opens: each registered model's change list,
add and change pages, and the platform health page."""

from __future__ import annotations

import pytest
import responses
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from apps.core import platforms
from apps.core.audit import LogContext
from apps.core.breaker import BreakerPolicy
from apps.core.connections import client_for, connection_create, connection_default
from apps.core.http import Platform, RetryPolicy, TransientError
from apps.core.models import ApiToken, OutboundOperation, SyncLog
from tests.factories import (
    OutboundOperationFactory,
    SyncLogFactory,
    UserFactory,
    WebhookEventFactory,
)

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def some_rows():
    """A row of each core and scheduling model, so their change pages open too.
    Domain models' rows come from their own migrations or tests."""
    operation = OutboundOperationFactory(state=OutboundOperation.State.DEAD,
                                         last_error="x" * 200)
    SyncLogFactory(operation=operation, request_body='{"ssin": "[redacted]"}')
    WebhookEventFactory()
    ApiToken.issue(UserFactory())
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="sweep", task="core.sweep", interval=interval)
    CrontabSchedule.objects.create(minute="0", hour="20")
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(event="sunrise", latitude=50.85, longitude=4.35)


@pytest.mark.usefixtures("some_rows")
@pytest.mark.parametrize("model, model_admin", REGISTERED,
                         ids=[model._meta.label for model, _ in REGISTERED])
def test_it_opens_every_admin_page(admin_client, rf, admin_user, model, model_admin):
    opts = model._meta
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200

    request = rf.get("/")
    request.user = admin_user
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)

    obj = model._default_manager.first()
    if obj is not None:
        change = admin_client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200


def test_it_opens_the_admin_index(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200


def _failing_call(connection, platform: Platform) -> None:
    """One failed call through the connection's own client, as a worker makes it."""
    client = client_for(connection, platform=platform)
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{platform.base_url}/ping", status=503)
        with pytest.raises(TransientError):
            client.get("ping", log=LogContext(action="ping"), authenticated=False)


@pytest.fixture
def acme(monkeypatch) -> Platform:
    platform = Platform(name="acme", base_url="https://acme.test/api",
                        breaker=BreakerPolicy(failure_threshold=1),
                        retry=RetryPolicy(max_attempts=1))
    monkeypatch.setitem(platforms._registry, "acme", lambda: platform)
    return platform


def test_it_shows_the_health_of_each_platform(admin_client, acme):
    _failing_call(connection_default(platform="acme"), acme)
    SyncLogFactory(platform="acme", status=SyncLog.Status.SUCCESS)
    OutboundOperationFactory(platform="acme", state=OutboundOperation.State.DEAD)
    OutboundOperationFactory(platform="acme", state=OutboundOperation.State.PENDING)

    response = admin_client.get(reverse("admin:platform-health"))

    assert response.status_code == 200
    [health] = [row for row in response.context["platforms"] if row.name == "acme"]
    # The breaker the client really trips, not one named after the platform alone.
    assert health.breaker_state == "open"
    assert health.failures_last_hour == 1
    assert health.last_success_at is not None
    assert (health.open_operations, health.dead_operations) == (1, 1)
    assert b"https://acme.test/api" in response.content


def test_it_shows_a_platform_open_when_one_of_its_other_connections_is_down(admin_client, acme):
    second = connection_create(platform="acme", name="Second account")
    _failing_call(second, acme)

    response = admin_client.get(reverse("admin:platform-health"))

    [health] = [row for row in response.context["platforms"] if row.name == "acme"]
    assert health.breaker_state == "open"


def test_it_keeps_the_health_page_for_staff(client):
    response = client.get(reverse("admin:platform-health"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
