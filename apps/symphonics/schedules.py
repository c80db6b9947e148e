"""Symphonics' periodic jobs, registered by its DomainApp (apps.py)."""

from apps.core.schedules import Every, Schedule

SCHEDULES = (
    Schedule(
        name="symphonics: poll open interventions",
        task="symphonics.poll_open",
        # Every 10 minutes; each run reads at most SYMPHONICS_POLL_BATCH statuses.
        when=Every(seconds=600),
        description="Every 10 minutes: read the status of open Symphonics interventions that "
                    "no webhook has mentioned for SYMPHONICS_POLL_STALE_MINUTES (missed "
                    "webhooks).",
    ),
)
