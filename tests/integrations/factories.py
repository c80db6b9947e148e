"""Rows of the integrations domain for tests: organisations, members, events,
attendees, integrations on their core connections, and their sync runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.core.models import Connection, SyncLog, SyncRun
from apps.integrations.models import (
    ORGANIZATION_TENANT,
    Attendance,
    Event,
    Integration,
    Membership,
    Organization,
)
from apps.integrations.services import email_index
from tests.factories import UserFactory

PROVIDER_TYPES = {"google": Integration.Type.CALENDAR, "microsoft": Integration.Type.CALENDAR,
                  "slack": Integration.Type.COMMUNICATION, "zoom": Integration.Type.VIDEO}
PROVIDER_NAMES = {"google": "Google Calendar", "microsoft": "Microsoft 365",
                  "slack": "Slack Workspace", "zoom": "Zoom"}


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


def default_organization() -> Organization:
    return Organization.objects.get(is_default=True)


def member(*, organization: Organization | None = None, group: str | None = "Manager",
           **fields):
    """A user acting for `organization` (the default one when None: no membership)."""
    user = UserFactory(**fields)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if organization is not None and not organization.is_default:
        Membership.objects.create(user=user, organization=organization)
    return user


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    organization = factory.LazyFunction(default_organization)
    title = factory.Sequence(lambda n: f"Training {n}")
    type = Event.Type.TRAINING
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    end = factory.LazyAttribute(lambda event: event.start + timedelta(hours=2))


def attendee(event: Event, email: str, *, name: str = "", status: str = "invited",
             **fields) -> Attendance:
    return Attendance.objects.create(event=event, email=email, email_index=email_index(email),
                                     name=name, status=status, **fields)


def make_integration(*, organization: Organization | None = None, provider: str = "google",
                     status: str = Connection.Status.CONNECTED, connected_by=None,
                     **fields) -> Integration:
    """An integration on its own connection, as connecting leaves them."""
    organization = organization or default_organization()
    connection = Connection.objects.create(
        platform=provider, name=f"{PROVIDER_NAMES[provider]} ({organization.slug})",
        tenant_type=ORGANIZATION_TENANT, tenant_id=str(organization.pk), status=status,
        connected_by=connected_by, connected_at=timezone.now())
    values = {"type": PROVIDER_TYPES[provider], "name": PROVIDER_NAMES[provider],
              "permissions": ["read_calendar"], **fields}
    return Integration.objects.create(organization=organization, connection=connection,
                                      provider=provider, **values)


def make_run(integration: Integration, *, status: str = SyncRun.Status.SUCCESS,
             started_at: datetime | None = None, seconds: float = 135, kind: str = "calendar",
             **counts) -> SyncRun:
    """A finished (or running) sync run of the integration's connection."""
    started_at = started_at or timezone.now() - timedelta(hours=1)
    finished = None if status == SyncRun.Status.RUNNING else (
        started_at + timedelta(seconds=seconds))
    return SyncRun.objects.create(kind=f"integrations.{kind}", connection=integration.connection,
                                  status=status, started_at=started_at, finished_at=finished,
                                  **counts)


def make_exchange(integration: Integration, *, duration_ms: int, action: str = "events.list",
                  status: str = SyncLog.Status.SUCCESS,
                  created_at: datetime | None = None) -> SyncLog:
    """One audited exchange with the provider on the integration's connection."""
    return SyncLog.objects.create(platform=integration.provider,
                                  connection=integration.connection,
                                  direction=SyncLog.Direction.OUTBOUND, action=action,
                                  status=status, duration_ms=duration_ms,
                                  created_at=created_at or timezone.now())


def integrations_rows() -> None:
    """A row of each model the integrations admin shows (for the admin walks)."""
    organization = OrganizationFactory()
    user = member(organization=organization)
    event = EventFactory(organization=organization, organizer=user)
    attendee(event, "ada@example.test", name="Ada")
    make_integration(organization=organization, connected_by=user)
