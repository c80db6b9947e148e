"""The import report: one mail after a failed, partial or large run, after commit,
never twice, in the hub's language and time zone, and never failing the run."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import translation

from apps.core.models import SyncRun
from apps.tuniclaim.client import tuniclaim_connection
from apps.tuniclaim.reports import report_after_run, report_send

pytestmark = pytest.mark.django_db

RunStatus = SyncRun.Status
RECIPIENTS = ["ops@ars.example.tn", "claims-lead@ars.example.tn"]


class RefusingSMTPBackend(BaseEmailBackend):
    """An SMTP server that refuses every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture(autouse=True)
def report_settings(settings):
    settings.TUNICLAIM_REPORT_RECIPIENTS = RECIPIENTS
    settings.TUNICLAIM_LARGE_IMPORT_CLAIMS = 1000
    settings.HUB_BASE_URL = "https://hub.ars.example.tn/"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def make_run(*, status: str = RunStatus.SUCCESS, created: int = 0, updated: int = 0,
             unchanged: int = 0, invalid: int = 0, errors: int = 0,
             error_samples: list | None = None, user=None) -> SyncRun:
    started = datetime(2026, 11, 30, 13, 0, tzinfo=ZoneInfo("UTC"))
    return SyncRun.objects.create(
        kind="tuniclaim.import", connection=tuniclaim_connection(),
        trigger=SyncRun.Trigger.MANUAL if user else SyncRun.Trigger.AUTOMATIC,
        triggered_by=user, status=status, started_at=started,
        finished_at=started + timedelta(minutes=2, seconds=5), created=created,
        updated=updated, unchanged=unchanged, invalid=invalid, errors=errors,
        error_samples=error_samples or [])


def report(run: SyncRun, capture) -> None:
    with capture(execute=True):
        report_after_run(run=run)


def test_a_failed_run_sends_one_mail_with_text_html_and_its_errors(
        django_capture_on_commit_callbacks, django_user_model):
    user = django_user_model.objects.create_user("leila.gestionnaire", password="pw")
    run = make_run(status=RunStatus.ERROR, created=3, errors=1, user=user, error_samples=[
        {"record": "BR-2026-000123", "message": "bulletins: tuniclaim answered 503"},
        {"record": "", "message": "TransientError: tuniclaim: ConnectionError on GET"}])

    report(run, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == RECIPIENTS
    assert "FAILED" in message.subject
    assert f"(run {run.pk})" in message.subject
    assert "created 3" in message.subject and "errors 1" in message.subject
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    link = f"https://hub.ars.example.tn/admin/core/syncrun/{run.pk}/change/"
    for body in (message.body, html):
        assert "BR-2026-000123" in body
        assert "bulletins: tuniclaim answered 503" in body
        assert "ConnectionError on GET" in body
        assert link in body
        assert "leila.gestionnaire" in body
        assert "Manual" in body
        # 13:00 UTC is 14:00 in Brussels, and the zone is named.
        assert "30 November 2026, 14:00 (Europe/Brussels)" in body
        assert "125 seconds" in body


def test_a_partial_run_sends_one_mail(django_capture_on_commit_callbacks):
    run = make_run(status=RunStatus.PARTIAL, created=40, invalid=2, error_samples=[
        {"record": "BS BS-77", "message": "unknown status 'TRAITE_X'"}])

    report(run, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert "PARTIAL" in message.subject and "invalid 2" in message.subject
    assert "unknown status 'TRAITE_X'" in message.body


def test_a_small_successful_run_sends_nothing(django_capture_on_commit_callbacks):
    report(make_run(created=999, unchanged=5000), django_capture_on_commit_callbacks)

    assert mail.outbox == []


def test_a_large_import_sends_one_ok_mail(django_capture_on_commit_callbacks):
    run = make_run(created=600, updated=400)

    report(run, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert "OK" in message.subject and "FAILED" not in message.subject
    assert "created 600" in message.subject and "updated 400" in message.subject


def test_it_waits_for_the_commit(django_capture_on_commit_callbacks):
    run = make_run(status=RunStatus.ERROR)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            report_after_run(run=run)
        assert mail.outbox == []
    assert len(callbacks) == 1

    callbacks[0]()
    assert len(mail.outbox) == 1


def test_a_run_is_reported_once(django_capture_on_commit_callbacks):
    run = make_run(status=RunStatus.ERROR)

    report(run, django_capture_on_commit_callbacks)
    report(run, django_capture_on_commit_callbacks)
    assert report_send(run_id=run.pk) is False

    assert len(mail.outbox) == 1


def test_without_recipients_nothing_is_sent_and_it_says_so(
        settings, django_capture_on_commit_callbacks, caplog):
    settings.TUNICLAIM_REPORT_RECIPIENTS = []
    run = make_run(status=RunStatus.ERROR)

    with caplog.at_level(logging.INFO, logger="apps.tuniclaim.reports"):
        report(run, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert any(f"run {run.pk}" in record.getMessage() and "no recipients" in
               record.getMessage() for record in caplog.records)


def test_an_smtp_failure_is_logged_and_never_fails_the_run(
        settings, django_capture_on_commit_callbacks, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingSMTPBackend"
    run = make_run(status=RunStatus.ERROR, errors=1)
    before = SyncRun.objects.filter(pk=run.pk).values().get()

    with caplog.at_level(logging.ERROR, logger="apps.tuniclaim.reports"):
        report(run, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f"run {run.pk}" in record.getMessage()
    assert "SMTPServerDisconnected" in caplog.text
    assert SyncRun.objects.filter(pk=run.pk).values().get() == before


def test_a_run_still_running_is_not_reported(django_capture_on_commit_callbacks):
    run = make_run(status=RunStatus.RUNNING, errors=3)

    report(run, django_capture_on_commit_callbacks)

    assert mail.outbox == []


def test_it_is_written_in_the_hubs_language_whatever_is_active(
        settings, django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "fr"
    run = make_run(status=RunStatus.ERROR)

    with translation.override("nl"):
        report(run, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    with translation.override("fr"):
        expected = translation.gettext("FAILED")
    assert expected in message.subject
    assert 'lang="fr"' in message.alternatives[0][0]
