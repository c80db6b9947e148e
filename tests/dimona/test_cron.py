"""The evening job runs at 20:00 Brussels time in winter and in summer, and
declares the accepted shifts of the next Brussels calendar day."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from apps.core.schedules import schedules_install
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration, Shift
from tests.dimona.factories import ShiftFactory, brussels

pytestmark = pytest.mark.django_db
CRON_NAME = "dimona: declare tomorrow's shifts"


def cron_is_due_at(moment_utc: datetime) -> bool:
    schedules_install()
    schedule = PeriodicTask.objects.get(name=CRON_NAME).crontab.schedule
    previous_day = moment_utc - timedelta(hours=23)
    with time_machine.travel(moment_utc, tick=False):
        return schedule.is_due(previous_day).is_due


@pytest.mark.parametrize(("season", "day", "utc_hour"), [
    ("winter", datetime(2026, 1, 15, tzinfo=UTC), 19),
    ("summer", datetime(2026, 7, 15, tzinfo=UTC), 18),
])
def test_it_fires_at_twenty_brussels_time(season, day, utc_hour):
    fire = day.replace(hour=utc_hour)
    assert not cron_is_due_at(fire - timedelta(minutes=1)), season
    assert cron_is_due_at(fire + timedelta(seconds=30)), season


def test_it_keeps_a_schedule_a_manager_edited():
    schedules_install()
    task = PeriodicTask.objects.get(name=CRON_NAME)
    task.enabled = False
    task.save()
    assert schedules_install()[CRON_NAME] == "kept"
    assert not PeriodicTask.objects.get(name=CRON_NAME).enabled
    assert schedules_install(reset=True)[CRON_NAME] == "reset"
    assert PeriodicTask.objects.get(name=CRON_NAME).enabled


@pytest.mark.parametrize("evening", [brussels(2026, 3, 28, 20), brussels(2026, 10, 24, 20),
                                     brussels(2026, 7, 10, 20)])
def test_it_declares_the_next_brussels_day_across_dst_changes(evening):
    tomorrow = evening.date() + timedelta(days=1)
    y, m, d = tomorrow.year, tomorrow.month, tomorrow.day
    wanted = [ShiftFactory(start=brussels(y, m, d, 17)),
              ShiftFactory(start=brussels(y, m, d, 23, 30))]
    ShiftFactory(start=brussels(evening.year, evening.month, evening.day, 23, 30))  # today
    next_day = tomorrow + timedelta(days=1)
    ShiftFactory(start=brussels(next_day.year, next_day.month, next_day.day, 0, 30))
    ShiftFactory(start=brussels(y, m, d, 12), status=Shift.Status.PROPOSED)  # not accepted

    with time_machine.travel(evening, tick=False):
        declarations = services.tomorrow_declare()
        again = services.tomorrow_declare()

    assert sorted(d.shift_id for d in declarations) == sorted(s.pk for s in wanted)
    assert again == []
    assert DimonaDeclaration.objects.count() == 2
