"""MY TUNICLAIM's periodic jobs, registered by its DomainApp (apps.py).

Push retries are run by the core's outbox sweep (every minute), not here.
"""

from apps.core.schedules import Crontab, Schedule

SCHEDULES = (
    Schedule(
        name="tuniclaim: hourly import",
        task="tuniclaim.import_hourly",
        # At minute 0 of every hour (the ARS integration's "0 * * * *").
        when=Crontab(minute="0"),
        description="Every hour on the hour: import the claim batches MY TUNICLAIM changed "
                    "since the last good import (nothing if an import is still running).",
    ),
)
