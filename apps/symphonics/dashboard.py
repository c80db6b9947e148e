"""The Symphonics panel of the back-office home page: publications in flight."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext

from apps.core.admin_display import changelist_url
from apps.core.dashboard import (
    TABLE_TEMPLATE,
    Cell,
    DashboardPanel,
    change_url,
    counted,
    shorten,
    user_may_view,
)
from apps.symphonics.admin import STATUS_TONES
from apps.symphonics.models import Intervention
from apps.symphonics.selectors import (
    IN_FLIGHT_STATUSES,
    interventions_in_flight,
    interventions_in_flight_counts,
    publications_being_sent,
)

# The newest publications on the home page; the list is one click away.
PUBLICATIONS_SHOWN = 10


def status_cell(status: str, *, remote_status: str = "") -> Cell:
    """The intervention pages' badge (their tone), so it looks the same here as there."""
    title = ""
    if remote_status:
        title = gettext("Symphonics says: %(status)s") % {"status": remote_status}
    return Cell(text=str(Intervention.Status(status).label), status=status,
                tone=STATUS_TONES.get(status, "pending"), title=title)


def publications_panel(request: HttpRequest) -> DashboardPanel | None:
    if not user_may_view(request, Intervention):
        return None
    counts = interventions_in_flight_counts()
    summary = []
    for status in IN_FLIGHT_STATUSES:
        if counts.get(status):
            cell = status_cell(status)
            summary.append(Cell(text=counted(cell.text, counts[status]), tone=cell.tone,
                                status=status,
                                url=changelist_url(Intervention, status__exact=status)))
    rows = [
        [Cell(text=intervention.external_id, url=change_url(intervention)),
         status_cell(intervention.status, remote_status=intervention.remote_status),
         Cell(when=intervention.published_at, text=gettext("not yet")),
         Cell(when=intervention.synced_at, text=gettext("nothing yet")),
         Cell(text=shorten(intervention.last_error), title=intervention.last_error)]
        for intervention in interventions_in_flight(limit=PUBLICATIONS_SHOWN)
    ]
    total = sum(counts.values())
    note = ""
    if total > len(rows):
        note = gettext("The newest %(shown)d of %(total)d.") % {"shown": len(rows),
                                                                "total": total}
    return DashboardPanel(
        key="symphonics_publications", title=gettext("Publications in flight"),
        template_name=TABLE_TEMPLATE,
        pending=publications_being_sent(),
        context={
            "intro": gettext("Interventions being published, or at Symphonics waiting for "
                             "its decision, the newest first."),
            "summary": summary,
            "columns": [gettext("Intervention"), gettext("Status"), gettext("Published"),
                        gettext("Last news from Symphonics"), gettext("Last error")],
            "rows": rows,
            "note": note,
            "empty": gettext("No publication in flight."),
            "more_url": changelist_url(Intervention),
            "more_label": gettext("All interventions"),
        })
