"""Periodic schedules, declared by each app and written to django-celery-beat.

The database holds them (managers can see and change them in the admin);
`manage.py setup_schedules` creates the missing ones at deploy and leaves
existing ones as a manager may have edited them (`--reset` restores them).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.core.registry_names import DuplicateRegistration


@dataclass(frozen=True)
class Crontab:
    minute: str = "*"
    hour: str = "*"
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"
    # Crontabs run in this zone, so "20:00" stays 20:00 across DST changes.
    timezone: str = "Europe/Brussels"


@dataclass(frozen=True)
class Every:
    seconds: int


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    when: Crontab | Every
    description: str


_schedules: dict[str, Schedule] = {}


def register_schedule(schedule: Schedule) -> None:
    """Domain apps declare theirs in their `DomainApp`; the core registers its own.

    The name is the periodic task's key in the database: a second, different
    schedule under it would silently replace the first at the next install.
    """
    existing = _schedules.get(schedule.name)
    if existing is not None and existing != schedule:
        raise DuplicateRegistration(f"the schedule {schedule.name!r} is already registered "
                                    f"for the task {existing.task!r}")
    _schedules[schedule.name] = schedule


def registered_schedules() -> list[Schedule]:
    return list(_schedules.values())


def _beat_schedule(when: Crontab | Every) -> dict:
    if isinstance(when, Every):
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=when.seconds, period=IntervalSchedule.SECONDS)
        return {"interval": interval, "crontab": None}
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=when.minute, hour=when.hour, day_of_week=when.day_of_week,
        day_of_month=when.day_of_month, month_of_year=when.month_of_year,
        timezone=when.timezone)
    return {"crontab": crontab, "interval": None}


@transaction.atomic
def schedules_install(*, reset: bool = False) -> dict[str, str]:
    outcome = {}
    for schedule in registered_schedules():
        fields = {"task": schedule.task, "description": schedule.description,
                  **_beat_schedule(schedule.when)}
        task = PeriodicTask.objects.filter(name=schedule.name).first()
        if task is None:
            PeriodicTask.objects.create(name=schedule.name, enabled=True, **fields)
            outcome[schedule.name] = "created"
        elif reset:
            for key, value in fields.items():
                setattr(task, key, value)
            task.enabled = True
            task.save()
            outcome[schedule.name] = "reset"
        else:
            outcome[schedule.name] = "kept"
    return outcome


register_schedule(Schedule(
    name="core: sweep the outbox and inbox",
    task="core.sweep",
    when=Every(seconds=60),
    description="Every minute: re-send due or abandoned outbound operations and "
                "webhook events whose task was lost.",
))

register_schedule(Schedule(
    name="core: purge old webhook deliveries",
    task="core.purge_webhooks",
    # Every night at 03:30 Brussels time: a quiet hour, and one that the DST
    # changes (02:00 to 03:00 in March, 03:00 back to 02:00 in October) never
    # skip nor repeat.
    when=Crontab(minute="30", hour="3"),
    description="Every night at 03:30 (Europe/Brussels): delete rejected webhook deliveries "
                "older than WEBHOOK_REJECTED_RETENTION_DAYS, and processed, ignored or "
                "duplicate ones older than WEBHOOK_PROCESSED_RETENTION_DAYS, and the "
                "database store's expired rows.",
))

register_schedule(Schedule(
    name="core: attention digest to the managers",
    task="core.send_attention_digest",
    # Every morning, 07:30 Brussels time unless DIGEST_HOUR, DIGEST_MINUTE or
    # DIGEST_TIMEZONE say otherwise: before the managers' day starts.
    when=Crontab(minute=str(settings.DIGEST_MINUTE), hour=str(settings.DIGEST_HOUR),
                 timezone=settings.DIGEST_TIMEZONE),
    description=f"Every day at {settings.DIGEST_HOUR:02d}:{settings.DIGEST_MINUTE:02d} "
                f"({settings.DIGEST_TIMEZONE}): mail the Manager group the attention items "
                "raised since the previous digest; nothing is sent when none is new.",
))
