"""Read-only queries of the Dimona app."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
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


# Sent to the ONSS and not answered yet: what a page waits for.
IN_FLIGHT = (DimonaDeclaration.Status.PENDING, DimonaDeclaration.Status.SENT,
             DimonaDeclaration.Status.WAITING_SIGEDIS)
# What "poll now" can ask the ONSS about again.
POLLABLE = (DimonaDeclaration.Status.SENT, DimonaDeclaration.Status.WAITING_SIGEDIS,
            DimonaDeclaration.Status.MANUAL_CHECK)
# A cancelled shift needs nothing more unless its Cancel itself went wrong.
RESOLVED = (Shift.Status.CANCELLED, Shift.Status.NO_SHOW)
CANCEL_NEEDS_ATTENTION = (DimonaDeclaration.Status.REFUSED, DimonaDeclaration.Status.FAILED,
                          DimonaDeclaration.Status.MANUAL_CHECK,
                          DimonaDeclaration.Status.ACCEPTED_WITH_WARNINGS)


def shift_declaration_annotations() -> dict:
    """What lists, pages, buttons and refreshes read of each shift's
    declarations, as subqueries: no query per row."""
    declarations = DimonaDeclaration.objects.filter(shift=OuterRef("pk"))
    latest = declarations.order_by("-created_at", "-pk")
    active_in = DimonaDeclaration.objects.active_in().filter(shift=OuterRef("pk"))
    latest_cancel = declarations.filter(
        kind=DimonaDeclaration.Kind.CANCEL).order_by("-created_at", "-pk")
    return {
        "dimona_status": Subquery(latest.values("status")[:1]),
        "dimona_kind": Subquery(latest.values("kind")[:1]),
        "active_in_status": Subquery(active_in.values("status")[:1]),
        "active_in_period": Subquery(active_in.values("period_id")[:1]),
        "cancel_status": Subquery(latest_cancel.values("status")[:1]),
        "dimona_in_flight": Exists(declarations.filter(status__in=IN_FLIGHT)),
        "dimona_pollable": Exists(declarations.filter(status__in=POLLABLE)),
    }


def shifts_without_stale_attention(shifts: QuerySet[Shift]) -> QuerySet[Shift]:
    """`shifts` (annotated with the attention queue and `cancel_status`) with
    what is said of a cancelled shift hidden unless its Cancel itself went
    wrong: what was said of its earlier declarations, or an outcome of theirs
    arriving after the Cancel, is stale."""
    stale = Q(status__in=RESOLVED) & ~Q(cancel_status__in=CANCEL_NEEDS_ATTENTION)
    annotations = shifts.query.annotations
    return shifts.annotate(
        needs_attention=Case(When(stale, then=Value(False)),
                             default=annotations["needs_attention"]),
        attention_reason=Case(When(stale, then=Value("")),
                              default=annotations["attention_reason"]),
        attention_reason_msgid=Case(When(stale, then=Value("")),
                                    default=annotations["attention_reason_msgid"],
                                    output_field=TextField()),
        attention_reason_values=Case(When(stale, then=Value(None, output_field=JSONField())),
                                     default=annotations["attention_reason_values"],
                                     output_field=JSONField()),
    )


def shifts_with_attention() -> QuerySet[Shift]:
    """Shifts with `needs_attention` and `attention_reason` from the attention
    queue, a cancelled shift's stale items left out."""
    latest_cancel = DimonaDeclaration.objects.filter(
        shift=OuterRef("pk"), kind=DimonaDeclaration.Kind.CANCEL).order_by("-created_at", "-pk")
    return shifts_without_stale_attention(
        Shift.objects.annotate(**attention_annotations(Shift),
                               cancel_status=Subquery(latest_cancel.values("status")[:1])))


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
