"""Read-only queries of the Dimona app."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import CharField, Count, Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.attention_selectors import attention_annotations
from apps.dimona.mapping import BRUSSELS
from apps.dimona.models import DimonaDeclaration, Shift

NO_SHOW_AFTER = timedelta(minutes=30)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Brussels calendar day, as aware datetimes (23 or 25 h on DST days)."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=BRUSSELS)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=BRUSSELS)
    return start, end


def tomorrow_in_brussels(now: datetime | None = None) -> date:
    return (timezone.localtime(now or timezone.now(), BRUSSELS) + timedelta(days=1)).date()


def shifts_to_declare(*, day: date) -> QuerySet[Shift]:
    """Accepted shifts starting on `day` (Brussels) without an active Dimona-In."""
    start, end = local_day_bounds(day)
    active_in = DimonaDeclaration.objects.active_in().filter(shift=OuterRef("pk"))
    return (Shift.objects.with_parties()
            .filter(status=Shift.Status.ACCEPTED, start__gte=start, start__lt=end)
            .exclude(Exists(active_in)))


def shift_active_in(shift: Shift) -> DimonaDeclaration | None:
    return shift.declarations.active_in().first()


def shift_declared_hours(shift: Shift) -> tuple[datetime, datetime] | None:
    """The hours the ONSS currently knows: the newest accepted In or Update."""
    latest = (shift.declarations
              .filter(kind__in=[DimonaDeclaration.Kind.IN, DimonaDeclaration.Kind.UPDATE],
                      status__in=DimonaDeclaration.ACCEPTED_STATUSES)
              .order_by("-created_at", "-pk").first())
    if latest is None:
        return None
    return latest.declared_start, latest.declared_end


def no_show_candidates(now: datetime | None = None) -> QuerySet[Shift]:
    """Accepted, declared shifts whose worker has not clocked in 30 minutes after the start."""
    now = now or timezone.now()
    active_in = DimonaDeclaration.objects.active_in().filter(shift=OuterRef("pk"))
    return (Shift.objects.with_parties()
            .filter(status=Shift.Status.ACCEPTED, clock_in_at__isnull=True,
                    start__lte=now - NO_SHOW_AFTER, end__gt=now - timedelta(hours=24))
            .filter(Exists(active_in)))


def shifts_of_day(day: date) -> QuerySet[Shift]:
    start, end = local_day_bounds(day)
    return Shift.objects.with_parties().filter(start__gte=start, start__lt=end)


def shifts_with_attention() -> QuerySet[Shift]:
    """Shifts with `needs_attention` and `attention_reason` from the attention queue."""
    return Shift.objects.annotate(**attention_annotations(Shift))


def _newest_declaration() -> QuerySet[DimonaDeclaration]:
    return DimonaDeclaration.objects.filter(shift=OuterRef("pk")).order_by("-created_at", "-pk")


def shifts_of_day_with_dimona(*, day: date, limit: int) -> list[Shift]:
    """The first `limit` shifts of a Brussels day by start, each with its newest
    declaration's `dimona_kind` and `dimona_status` (empty when never declared)."""
    newest = _newest_declaration()
    return list(shifts_of_day(day)
                .annotate(dimona_kind=Subquery(newest.values("kind")[:1]),
                          dimona_status=Subquery(newest.values("status")[:1]))
                .order_by("start", "pk")[:limit])


def shifts_of_day_dimona_counts(*, day: date) -> dict[tuple[str, str], int]:
    """A Brussels day's shifts counted by their newest declaration's (kind, status),
    ("", "") for none: one grouped query on the shifts' start index."""
    start, end = local_day_bounds(day)
    newest = _newest_declaration()

    def newest_value(field: str) -> Coalesce:
        return Coalesce(Subquery(newest.values(field)[:1]), Value(""), output_field=CharField())

    rows = (Shift.objects.filter(start__gte=start, start__lt=end)
            .annotate(dimona_kind=newest_value("kind"), dimona_status=newest_value("status"))
            .order_by().values_list("dimona_kind", "dimona_status").annotate(n=Count("pk"))
            .values_list("dimona_kind", "dimona_status", "n"))
    return {(kind, status): n for kind, status, n in rows}


# A declaration still waiting after this long is the attention queue's
# business, not a reason to keep reloading pages.
AWAITING_RESULT_FOR = timedelta(hours=24)


def declarations_awaiting_result(*, now: datetime | None = None) -> bool:
    """A declaration queued or sent recently whose result has not come back yet."""
    since = (now or timezone.now()) - AWAITING_RESULT_FOR
    waiting = (DimonaDeclaration.Status.PENDING, DimonaDeclaration.Status.SENT)
    return DimonaDeclaration.objects.filter(status__in=waiting, created_at__gte=since).exists()
