"""Read-only queries of the core (services write, selectors read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from apps.core.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from apps.core.models import Connection, OutboundOperation, SyncLog
from apps.core.platforms import registered_platforms


@dataclass(frozen=True)
class PlatformHealth:
    name: str
    base_url: str
    breaker_state: str
    breaker_failures: int
    breaker_opened_at: float | None
    last_success_at: datetime | None
    failures_last_hour: int
    open_operations: int
    dead_operations: int


def platform_health() -> list[PlatformHealth]:
    since = timezone.now() - timedelta(hours=1)
    # Two grouped queries for all platforms, then one index look-up each.
    failures = dict(
        SyncLog.objects.filter(created_at__gte=since, status=SyncLog.Status.FAILED)
        .values_list("platform").annotate(n=Count("id")).values_list("platform", "n")
    )
    operations: dict[tuple[str, str], int] = {
        (platform, state): n
        for platform, state, n in OutboundOperation.objects.exclude(
            state=OutboundOperation.State.SUCCEEDED)
        .values_list("platform", "state").annotate(n=Count("id"))
        .values_list("platform", "state", "n")
    }
    other_connections: dict[str, list[str]] = {}
    for connection in Connection.objects.filter(is_default=False).only("pk", "platform"):
        other_connections.setdefault(connection.platform, []).append(connection.key)
    rows = []
    for platform in registered_platforms():
        snapshot = _worst_breaker(platform, other_connections.get(platform.name, []))
        last_success = (
            SyncLog.objects.filter(platform=platform.name, status=SyncLog.Status.SUCCESS)
            .order_by("-created_at").values_list("created_at", flat=True).first()
        )
        open_count = sum(operations.get((platform.name, state), 0)
                         for state in OutboundOperation.OPEN_STATES)
        rows.append(PlatformHealth(
            name=platform.name,
            base_url=platform.base_url,
            breaker_state=str(snapshot["state"]),
            breaker_failures=int(snapshot["failures"]),
            breaker_opened_at=snapshot["opened_at"],
            last_success_at=last_success,
            failures_last_hour=failures.get(platform.name, 0),
            open_operations=open_count,
            dead_operations=operations.get((platform.name, OutboundOperation.State.DEAD), 0),
        ))
    return rows


# How bad each breaker state is, to show a platform's worst connection.
_SEVERITY = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


def _worst_breaker(platform, connection_keys: list[str]) -> dict:
    """The breaker of the platform's default connection, or of any other of its
    connections that is worse: one account down is a platform to look at."""
    from apps.core.connections import connection_scope_key

    default_key = connection_scope_key(Connection(platform=platform.name, is_default=True))
    snapshots = [CircuitBreaker(key, platform.breaker).snapshot()
                 for key in (default_key, *connection_keys)]
    return max(snapshots, key=lambda snap: (_SEVERITY.get(str(snap["state"]), 0),
                                            int(snap["failures"])))
