"""Dimona's periodic jobs, registered by its DomainApp (apps.py)."""

from apps.core.schedules import Crontab, Schedule

SCHEDULES = (
    Schedule(
        name="dimona: declare tomorrow's shifts",
        task="dimona.declare_tomorrow",
        # Every day at 20:00 Brussels time, summer and winter alike (the crontab
        # carries its zone, so DST moves the UTC time, not the local one).
        when=Crontab(minute="0", hour="20", timezone="Europe/Brussels"),
        description="Every evening at 20:00 (Europe/Brussels): Dimona-In for each accepted "
                    "shift of the next day that has none.",
    ),
)
