"""The Dimona panel of the back-office home page: today's shifts and their declarations."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext

from apps.core.admin_display import changelist_url
from apps.core.dashboard import (
    TABLE_TEMPLATE,
    Cell,
    DashboardPanel,
    change_url,
    counted,
    user_may_view,
)
from apps.dimona.admin import DECLARATION_TONES, SHIFT_TONES, declaration_label
from apps.dimona.mapping import BRUSSELS
from apps.dimona.models import DimonaDeclaration, Shift
from apps.dimona.selectors import (
    declarations_awaiting_result,
    shifts_of_day_dimona_counts,
    shifts_of_day_with_dimona,
)

# The first shifts of the day on the home page; the day's list is one click away.
SHIFTS_SHOWN = 15


def dimona_cell(kind: str | None, status: str | None) -> Cell:
    """A shift's Dimona state as a badge: its newest declaration's kind and status,
    with the shift pages' label and tone, so it looks the same here as there."""
    if not status:
        return Cell(text=declaration_label(kind, status), tone="muted", status="none")
    return Cell(text=declaration_label(kind, status), status=status,
                tone=DECLARATION_TONES.get(status, "pending"))


def todays_shifts_panel(request: HttpRequest) -> DashboardPanel | None:
    if not user_may_view(request, Shift, DimonaDeclaration):
        return None
    # A Dimona day is a Brussels day, wherever the manager reads from.
    day = timezone.localtime(timezone.now(), BRUSSELS).date()
    counts = shifts_of_day_dimona_counts(day=day)
    total = sum(counts.values())
    summary = []
    for (kind, status), count in sorted(counts.items()):
        cell = dimona_cell(kind, status)
        summary.append(Cell(text=counted(cell.text, count), tone=cell.tone, status=cell.status))
    rows = [
        [Cell(when=shift.start),
         Cell(when=shift.end),
         Cell(text=str(shift.worker), url=change_url(shift)),
         Cell(text=shift.employer.name),
         Cell(text=shift.get_status_display(), status=shift.status,
              tone=SHIFT_TONES.get(shift.status, "pending")),
         dimona_cell(shift.dimona_kind, shift.dimona_status)]
        for shift in shifts_of_day_with_dimona(day=day, limit=SHIFTS_SHOWN)
    ]
    note = ""
    if total > len(rows):
        note = gettext("The first %(shown)d of %(total)d shifts.") % {
            "shown": len(rows), "total": total}
    return DashboardPanel(
        key="dimona_today",
        title=gettext("Today's shifts and their Dimona (%(day)s)") % {
            "day": formats.date_format(day, "DATE_FORMAT")},
        template_name=TABLE_TEMPLATE,
        pending=declarations_awaiting_result(),
        context={
            "summary": summary,
            "columns": [gettext("Start"), gettext("End"), gettext("Worker"),
                        gettext("Employer"), gettext("Shift"), gettext("Dimona")],
            "rows": rows,
            "note": note,
            "empty": gettext("No shift today."),
            "more_url": changelist_url(Shift, start__day=day.day, start__month=day.month,
                                       start__year=day.year),
            "more_label": gettext("All of today's shifts"),
        })
