"""The integrations domain's periodic jobs, registered by its DomainApp (apps.py).

Calendar pushes are retried by the core's outbox sweep (every minute), not here.
"""

from apps.core.schedules import Crontab, Schedule

SCHEDULES = (
    Schedule(
        name="integrations: calendar sync",
        task="integrations.calendar_sync_due",
        # Every minute: the shortest syncInterval the settings accept is 60 s.
        when=Crontab(minute="*"),
        description="Every minute: an automatic sync of each connected calendar whose "
                    "syncInterval has passed since its last sync (autoSync off: never).",
    ),
    Schedule(
        name="integrations: push channels renewal",
        task="integrations.push_channels_renew",
        # At minute 17 of every hour (off the hour, when other hourly jobs run).
        when=Crontab(minute="17"),
        description="Every hour: Google push channels ending within a day are replaced by "
                    "new ones (Google cannot extend a channel).",
    ),
    Schedule(
        name="integrations: Graph subscriptions renewal",
        task="integrations.graph_subscriptions_renew",
        when=Crontab(minute="23"),
        description="Every hour: Microsoft Graph subscriptions ending within a day are "
                    "renewed (or created again when Graph no longer has them).",
    ),
    Schedule(
        name="integrations: Slack reminders",
        task="integrations.slack_reminders_due",
        # Every minute: reminders are minutes before an event, and a reminder
        # a beat late is still on time (REMINDER_GRACE).
        when=Crontab(minute="*"),
        description="Every minute: a Slack reminder for each coming event whose "
                    "reminderMinutes have come, once per event and offset.",
    ),
)
