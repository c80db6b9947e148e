"""What the calendar sync tests share: a Google calendar integration connected
to a running Google simulator (its tokens from a real consent), and helpers
to run the outbox and read the simulator's calendar.

A test module makes the fixture its own with
`google_calendar = calendar_fixtures.google_calendar` (after `from
tests.integrations import calendar_fixtures`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.connections import connection_create
from apps.core.models import Credentials, OutboundOperation
from apps.core.operations import operation_run
from apps.integrations import operations, push_channels  # noqa: F401  (handlers, channel)
from apps.integrations.models import ORGANIZATION_TENANT, Integration, Organization


def connect_google(api, *, settings: dict | None = None) -> Integration:
    """A connected Google calendar integration of the default organisation,
    holding the tokens `api` (tests/integrations/conftest.py's GoogleApi) got."""
    # A transactional test before this one flushed the migration's default organisation.
    organization, _created = Organization.objects.get_or_create(
        is_default=True, defaults={"name": "Default", "slug": "default"})
    connection = connection_create(
        platform="google", name="Google Calendar", tenant_type=ORGANIZATION_TENANT,
        tenant_id=str(organization.pk),
        credentials=Credentials(client_id=api.sim.client_id, client_secret=api.sim.client_secret,
                                access_token=api.access_token, refresh_token=api.refresh_token))
    connection.token_expires_at = timezone.now() + timedelta(minutes=50)
    connection.save(update_fields=["token_expires_at"])
    return Integration.objects.create(
        organization=organization, connection=connection, provider="google", type="calendar",
        name="Google Calendar", settings=settings or {"syncDirection": "bidirectional"})


@pytest.fixture
def google_calendar(google_api) -> Integration:
    return connect_google(google_api)


def run_pending_pushes() -> list[OutboundOperation]:
    """Run every open calendar push as a worker would (the eager dispatch does
    not run in tests that capture on-commit callbacks without executing them)."""
    done = []
    for pk in OutboundOperation.objects.filter(
            kind="integrations.calendar_push",
            state__in=OutboundOperation.OPEN_STATES).order_by("pk").values_list("pk", flat=True):
        operation_run(pk)
        done.append(OutboundOperation.objects.get(pk=pk))
    return done


def sim_events(api, calendar: str = "primary") -> dict[str, dict]:
    """Every event of the simulator's calendar (cancelled ones too), by id."""
    items = api.control("GET", f"/calendars/{calendar}/events").json()["items"]
    return {item["id"]: item for item in items}
