"""The morning digest of new attention items to the managers."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django_celery_beat.models import PeriodicTask

from apps.core.attention import attention_clear, attention_raise
from apps.core.digest import DIGEST_HEARTBEAT, attention_digest_send
from apps.core.models import Heartbeat
from apps.core.preferences import user_preference_set
from apps.core.schedules import registered_schedules, schedules_install
from apps.core.tasks import send_attention_digest
from tests.dimona.factories import ShiftFactory, brussels
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(manager_user):
    manager_user.email = "manager@example.test"
    manager_user.first_name = "Mia"
    manager_user.save()
    return manager_user


@pytest.fixture
def not_recipients(django_user_model):
    """People who must get nothing: not a manager, inactive, no address."""
    managers = Group.objects.get(name="Manager")
    UserFactory(username="outsider", email="outsider@example.test")
    UserFactory(username="former", email="former@example.test",
                is_active=False).groups.add(managers)
    UserFactory(username="no-address", email="").groups.add(managers)


def test_it_mails_the_new_items_to_each_manager_once(manager, not_recipients, settings):
    settings.HUB_BASE_URL = "https://hub.example.test"
    shift = ShiftFactory()
    attention_raise(domain="dimona", kind="dimona.refused", summary="Dimona refused for Ann",
                    subject=shift, action_hint="Correct the SSIN, then declare again")
    attention_raise(domain="symphonics", kind="symphonics.rejected",
                    summary="Intervention 12 rejected", key="symphonics.rejected:12")
    cleared = attention_raise(domain="dimona", kind="dimona.unknown", summary="Settled already",
                              key="dimona.unknown:1")
    attention_clear(key=cleared.key)

    sent = send_attention_digest.delay().get()

    assert sent == 1
    (message,) = mail.outbox
    assert message.to == ["manager@example.test"]
    assert message.subject == "Hub: 2 new items need attention"
    assert "Hello Mia," in message.body
    assert "Dimona refused for Ann" in message.body
    assert "What to do: Correct the SSIN, then declare again" in message.body
    assert f"https://hub.example.test/admin/dimona/shift/{shift.pk}/change/" in message.body
    assert "Intervention 12 rejected" in message.body
    assert "Settled already" not in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="https://hub.example.test/admin/dimona/shift/{shift.pk}/change/"' in html
    assert "https://hub.example.test/admin/core/attentionitem/" in html

    assert attention_digest_send() == 0
    assert len(mail.outbox) == 1


def test_it_sends_nothing_when_nothing_is_new(manager):
    assert attention_digest_send() == 0
    assert mail.outbox == []


def test_the_next_digest_lists_only_what_was_raised_since_the_last(manager):
    with time_machine.travel(brussels(2026, 12, 1, 18), tick=False):
        attention_raise(domain="dimona", kind="dimona.refused", summary="yesterday's", key="a")
    with time_machine.travel(brussels(2026, 12, 2, 7, 30), tick=False):
        assert attention_digest_send() == 1
    with time_machine.travel(brussels(2026, 12, 2, 15), tick=False):
        attention_raise(domain="dimona", kind="dimona.refused", summary="today's", key="b")
    with time_machine.travel(brussels(2026, 12, 3, 7, 30), tick=False):
        assert attention_digest_send() == 1

    first, second = mail.outbox
    assert "yesterday's" in first.body
    assert "today's" in second.body
    assert "yesterday's" not in second.body


def test_it_writes_times_in_the_recipients_zone_and_language(manager):
    user_preference_set(user=manager, language="fr", time_zone="America/New_York")
    with time_machine.travel(brussels(2026, 12, 2, 6, 15), tick=False):
        attention_raise(domain="dimona", kind="dimona.refused", summary="refused", key="a")
        attention_digest_send()

    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert '<html lang="fr">' in html
    # 06:15 in Brussels is 00:15 in New York, and the zone is named.
    assert "00:15" in message.body
    assert "America/New_York" in message.body


def test_it_gives_the_period_back_when_the_mails_cannot_be_sent(manager):
    attention_raise(domain="dimona", kind="dimona.refused", summary="refused", key="a")
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages",
                    side_effect=ConnectionRefusedError("no mail server")), \
            pytest.raises(ConnectionRefusedError):
        attention_digest_send()

    assert mail.outbox == []
    assert attention_digest_send() == 1
    assert "refused" in mail.outbox[0].body


def test_a_run_that_finds_its_period_taken_sends_nothing(manager):
    attention_raise(domain="dimona", kind="dimona.refused", summary="refused", key="a")
    attention_digest_send()
    mark = Heartbeat.objects.get(name=DIGEST_HEARTBEAT)
    attention_raise(domain="dimona", kind="dimona.refused", summary="again", key="b")

    # Another run moved the mark between this run's read and its claim.
    real_filter = Heartbeat.objects.filter

    def moved_meanwhile(*args, **kwargs):
        Heartbeat.objects.filter = real_filter
        real_filter(pk=mark.pk).update(beat_at=mark.beat_at + timedelta(seconds=1))
        return real_filter(*args, **kwargs)

    with mock.patch.object(Heartbeat.objects, "filter", side_effect=moved_meanwhile):
        assert attention_digest_send() == 0
    assert len(mail.outbox) == 1


def test_it_is_scheduled_every_morning_at_07_30_in_brussels():
    schedules_install()

    (schedule,) = [s for s in registered_schedules() if s.task == "core.send_attention_digest"]
    task = PeriodicTask.objects.select_related("crontab").get(name=schedule.name)
    assert (task.crontab.hour, task.crontab.minute) == ("7", "30")
    assert str(task.crontab.timezone) == "Europe/Brussels"
