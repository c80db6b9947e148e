"""Celery beat waits out a database that fails instead of exiting, and says so."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django_celery_beat.schedulers import DatabaseScheduler

from apps.core.beat import RETRY_INTERVAL, ResilientDatabaseScheduler
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def locked_database(monkeypatch):
    def locked(self):
        raise OperationalError("database is locked")

    monkeypatch.setattr(DatabaseScheduler, "enabled_models", locked)
    return monkeypatch


def test_it_survives_a_locked_database_and_reads_the_schedule_once_it_is_back(
        locked_database, caplog):
    call_command("setup_schedules", verbosity=0)
    scheduler = ResilientDatabaseScheduler(app=celery_app, lazy=True)

    with caplog.at_level(logging.WARNING, logger="apps.core.beat"):
        assert scheduler.tick() == RETRY_INTERVAL
        assert scheduler.tick() == RETRY_INTERVAL
    assert "database is locked" in caplog.text

    locked_database.undo()
    interval = scheduler.tick()

    assert 0 <= interval <= scheduler.max_interval
    assert "core.sweep" in {entry.task for entry in scheduler.schedule.values()}


def test_it_survives_a_locked_database_at_start_up(locked_database, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.core.beat"):
        scheduler = ResilientDatabaseScheduler(app=celery_app)

    assert scheduler.tick() == RETRY_INTERVAL
    assert "setting up the schedule" in caplog.text or "reading the schedule" in caplog.text


def test_it_says_in_its_log_when_it_stops(caplog):
    scheduler = ResilientDatabaseScheduler(app=celery_app, lazy=True)

    with caplog.at_level(logging.INFO, logger="apps.core.beat"):
        scheduler.close()

    assert "stopping" in caplog.text


def test_it_is_the_scheduler_the_settings_and_procfiles_use(settings):
    from pathlib import Path

    assert settings.CELERY_BEAT_SCHEDULER == "apps.core.beat:ResilientDatabaseScheduler"
    root = Path(settings.BASE_DIR)
    for procfile in ("Procfile", "Procfile.dev"):
        beat = next(line for line in (root / procfile).read_text().splitlines()
                    if line.startswith("beat:"))
        assert "--scheduler apps.core.beat:ResilientDatabaseScheduler" in beat, procfile
