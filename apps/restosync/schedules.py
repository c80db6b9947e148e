"""RestoSync's periodic jobs, registered by its DomainApp (apps.py).

Due push retries are run by the core's outbox sweep (every minute), not here.
"""

from apps.core.schedules import Every, Schedule

SCHEDULES = (
    Schedule(
        name="restosync: poll platforms",
        task="restosync.poll_due",
        # Every minute; each configuration is polled at its own interval (300 s by default).
        when=Every(seconds=60),
        description="Every minute: poll the platform configurations whose interval has "
                    "passed, for the bookings their webhooks missed.",
    ),
)
