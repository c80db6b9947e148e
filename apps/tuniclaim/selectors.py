"""Read-only queries of MY TUNICLAIM: the link's health, the import's state,
and the bordereaux and bulletins de soin as the API and the admin list them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Prefetch, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from apps.core.breaker import HALF_OPEN, OPEN, CircuitBreaker
from apps.core.connections import connection_scope_key
from apps.core.models import Connection, OutboundOperation, SyncRun
from apps.core.sync import SYNC_RUN_TIMEOUT
from apps.tuniclaim.client import PLATFORM, tuniclaim_platform
from apps.tuniclaim.imports import IMPORT_KIND
from apps.tuniclaim.models import (
    Bordereau,
    BulletinSoin,
    BulletinSoinItem,
    Client,
    QuarantinedRecord,
)
from apps.tuniclaim.services import PUSH_PAYMENT, PUSH_STATUS

# The import runs every hour: a run completed within two hours means at most
# one scheduled run was missed (a worker restart, a slow platform).
HEALTH_FRESH = timedelta(hours=2)
# Past six hours without a completed run, five scheduled imports in a row did
# not complete: the managers work on claims that may be stale.
HEALTH_STALE = timedelta(hours=6)
# The runs the status shows: most of a day of hourly imports, enough to see a
# pattern (every run partial, failures at one hour) without paging.
LAST_RUNS = 20

GREEN, ORANGE, RED = "green", "orange", "red"
LEVELS = (GREEN, ORANGE, RED)

# Push operations still to succeed, that have failed at least once: being retried.
_RETRYING_STATES = (OutboundOperation.State.FAILED, OutboundOperation.State.UNKNOWN)
# A run that got through its bordereaux, all of them or all but some records.
_COMPLETED = (SyncRun.Status.SUCCESS, SyncRun.Status.PARTIAL)


@dataclass(frozen=True)
class Health:
    """`level` is green, orange or red; `reasons` say why, in the reader's language,
    the red ones first. Green has no reasons."""

    level: str
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportStatus:
    health: Health
    running: SyncRun | None
    last_runs: list[SyncRun]


# The outbox kinds that tell MY TUNICLAIM what was decided here.
PUSH_KINDS = (PUSH_STATUS, PUSH_PAYMENT)


def _when(moment: datetime) -> str:
    """A moment in the reader's zone and language, with the zone's name."""
    local = timezone.localtime(moment)
    return (f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} "
            f"{formats.time_format(local, 'TIME_FORMAT')} {local.tzname()}")


def _import_runs() -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(kind=IMPORT_KIND)


def _breaker_state() -> str:
    """The breaker of the deployment's MY TUNICLAIM connection, as its client keeps it.

    Read without creating the connection: a selector writes nothing, and the
    default connection's key does not depend on its row.
    """
    platform = tuniclaim_platform()
    key = connection_scope_key(Connection(platform=platform.name, is_default=True))
    return str(CircuitBreaker(key, platform.breaker).snapshot()["state"])


def import_health(*, now: datetime | None = None) -> Health:
    """How the link with MY TUNICLAIM is doing, by these rules (docs/tuniclaim.md):

    red, when any of:
      - the last finished import failed (status error);
      - imports have run but none has completed (success or partial) for
        over 6 hours, or none ever has;
      - the circuit breaker of the MY TUNICLAIM connection is open;
      - the connection is in error (its credentials are refused or unreadable);
      - a status or payment push is dead (it holds back its BS's later pushes);
    orange, when none of those but any of:
      - no import has finished yet (the first one may be running);
      - the last finished import was partial (invalid records or errors);
      - the last completed import is 2 to 6 hours old;
      - records are in quarantine;
      - pushes have failed and are being retried;
      - the breaker is half-open (its trial call is pending);
      - an import has been running for longer than a run may take (its
        worker is presumed dead; the next start closes it);
    green otherwise: an import completed within 2 hours (the schedule is
    hourly), the last one entirely, nothing in quarantine, no push failing.

    A partial run counts as completed for freshness: a record that stays
    invalid would otherwise turn the link red although every other claim is
    imported each hour; the partial run itself makes it orange.
    """
    now = now or timezone.now()
    red: list[str] = []
    orange: list[str] = []
    _runs_health(now=now, red=red, orange=orange)
    _link_health(red=red, orange=orange)
    _backlog_health(red=red, orange=orange)
    level = RED if red else ORANGE if orange else GREEN
    return Health(level=level, reasons=[*red, *orange])


def _runs_health(*, now: datetime, red: list[str], orange: list[str]) -> None:
    runs = _import_runs()
    last_finished = runs.exclude(status=SyncRun.Status.RUNNING).order_by("-started_at").first()
    last_completed = (runs.filter(status__in=_COMPLETED).order_by("-finished_at")
                      .values_list("finished_at", flat=True).first())
    running = running_import()
    hours = timedelta(hours=1)

    if last_finished is None:
        # The first import may be running: still nothing imported.
        orange.append(gettext("MY TUNICLAIM has never been imported."))
    elif last_finished.status == SyncRun.Status.ERROR:
        red.append(gettext("The last import, started %(time)s, failed.")
                   % {"time": _when(last_finished.started_at)})
    elif last_finished.status == SyncRun.Status.PARTIAL:
        orange.append(gettext("The last import, started %(time)s, was partial (invalid "
                              "records: %(invalid)d, errors: %(errors)d).")
                      % {"time": _when(last_finished.started_at),
                         "invalid": last_finished.invalid, "errors": last_finished.errors})

    if last_completed is None and last_finished is not None:
        red.append(gettext("No import has ever completed."))
    elif last_completed is not None and now - last_completed > HEALTH_STALE:
        red.append(gettext("No import has completed for over %(hours)d hours; the last one "
                           "finished %(time)s.")
                   % {"hours": HEALTH_STALE // hours, "time": _when(last_completed)})
    elif last_completed is not None and now - last_completed > HEALTH_FRESH:
        orange.append(gettext("The last completed import finished %(time)s, over %(hours)d "
                              "hours ago.")
                      % {"time": _when(last_completed), "hours": HEALTH_FRESH // hours})

    if running is not None and now - running.started_at > SYNC_RUN_TIMEOUT:
        orange.append(gettext("An import has been running since %(time)s; its worker may have "
                              "died. The next import will close it.")
                      % {"time": _when(running.started_at)})


def _link_health(*, red: list[str], orange: list[str]) -> None:
    breaker = _breaker_state()
    if breaker == OPEN:
        red.append(gettext("MY TUNICLAIM is not answering: its circuit breaker is open, calls "
                           "are not sent for now."))
    elif breaker == HALF_OPEN:
        orange.append(gettext("MY TUNICLAIM's circuit breaker is half-open: the next call "
                              "tests whether it answers again."))
    connection = Connection.objects.default_for(PLATFORM)
    if connection is not None and connection.status == Connection.Status.ERROR:
        red.append(gettext("The MY TUNICLAIM connection is in error: %(reason)s")
                   % {"reason": connection.status_reason or connection.last_error})


def _backlog_health(*, red: list[str], orange: list[str]) -> None:
    quarantined = QuarantinedRecord.objects.filter(released_at__isnull=True).count()
    if quarantined:
        orange.append(ngettext("%(count)d record is in quarantine.",
                               "%(count)d records are in quarantine.", quarantined)
                      % {"count": quarantined})
    pushes = dict(OutboundOperation.objects.filter(
        kind__in=PUSH_KINDS, state__in=(OutboundOperation.State.DEAD, *_RETRYING_STATES))
        .values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    dead = pushes.get(OutboundOperation.State.DEAD, 0)
    retrying = sum(pushes.get(state, 0) for state in _RETRYING_STATES)
    if dead:
        red.append(ngettext(
            "%(count)d push to MY TUNICLAIM is dead; its BS's later pushes wait for a manager "
            "in the outbox.",
            "%(count)d pushes to MY TUNICLAIM are dead; their BS's later pushes wait for a "
            "manager in the outbox.", dead) % {"count": dead})
    if retrying:
        orange.append(ngettext("%(count)d push to MY TUNICLAIM failed and is being retried.",
                               "%(count)d pushes to MY TUNICLAIM failed and are being retried.",
                               retrying) % {"count": retrying})


def running_import() -> SyncRun | None:
    return _import_runs().filter(status=SyncRun.Status.RUNNING).order_by("-started_at").first()


def import_status() -> ImportStatus:
    """The health, the import running now (with its progress) if any, and the last
    runs, newest first (the running one included)."""
    last_runs = list(_import_runs().select_related("triggered_by")
                     .order_by("-started_at", "-pk")[:LAST_RUNS])
    running = next((run for run in last_runs if run.status == SyncRun.Status.RUNNING), None)
    if running is None:
        running = running_import()
    return ImportStatus(health=import_health(), running=running, last_runs=last_runs)


# -- bordereaux and bulletins -----------------------------------------------------------

def bordereaux_filtered(*, client: Client | str | None = None, status: str | None = None,
                        received_from: date | None = None, received_to: date | None = None
                        ) -> QuerySet[Bordereau]:
    """Bordereaux with their client and contract (one query a page), newest received
    first. `client` is a Client or a client's code; the dates are inclusive."""
    queryset = Bordereau.objects.select_related("client", "contract").order_by(
        "-received_on", "-pk")
    return _where(queryset, **_client_lookup("client", client), status=status,
                  received_on__gte=received_from, received_on__lte=received_to)


def bulletins_filtered(*, client: Client | str | None = None,
                       bordereau: Bordereau | int | None = None, status: str | None = None,
                       payment_status: str | None = None, created_from: date | None = None,
                       created_to: date | None = None) -> QuerySet[BulletinSoin]:
    """Bulletins de soin with their bordereau and its client (one query a page), in
    the order of their bordereau then number (the unique index's order).
    `client` is a Client or a client's code, `bordereau` one or its id; the
    dates (the BS's creation date) are inclusive."""
    # By the batch's id, along the (bordereau, number) unique index: ordering by
    # the batch itself would sort every claim through a join.
    queryset = BulletinSoin.objects.select_related("bordereau", "bordereau__client").order_by(
        "bordereau_id", "number")
    return _where(queryset, **_client_lookup("bordereau__client", client),
                  bordereau=bordereau, status=status, payment_status=payment_status,
                  created_on__gte=created_from, created_on__lte=created_to)


def _client_lookup(path: str, client: Client | str | None) -> dict[str, Client | str | None]:
    """A client given as itself or by its code, as a lookup through `path`."""
    if isinstance(client, Client):
        return {path: client}
    return {f"{path}__code": client}


def _where(queryset: QuerySet, **lookups) -> QuerySet:
    """The lookups given a value; those left empty do not filter."""
    return queryset.filter(**{name: value for name, value in lookups.items()
                              if value is not None and value != ""})


def bulletin_items_prefetched(queryset: QuerySet[BulletinSoin]) -> QuerySet[BulletinSoin]:
    """With each bulletin's care acts in line order (one more query for them all)."""
    return queryset.prefetch_related(
        Prefetch("items", queryset=BulletinSoinItem.objects.order_by("line_number")))


def bulletin_get(*, bulletin_id: int) -> BulletinSoin | None:
    """A bulletin with its bordereau, client and care acts; None if there is none."""
    return bulletin_items_prefetched(bulletins_filtered()).filter(pk=bulletin_id).first()
