"""Celery beat's scheduler: django-celery-beat's, made to outlive a database outage.

The stock DatabaseScheduler lets a database error raised while it reads the
schedule escape its loop, and beat exits; on SQLite a write lock held for a
few seconds is enough. Here such an error is logged and the read is tried
again after a pause, and beat says in its log when and why it stops.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

# Seconds between two attempts to read the schedule while the database fails:
# short enough that a missed minute-sweep is caught up at once, long enough
# not to hammer a database that is recovering.
RETRY_INTERVAL = 5.0


class ResilientDatabaseScheduler(DatabaseScheduler):
    def setup_schedule(self) -> None:
        try:
            super().setup_schedule()
        except (DatabaseError, InterfaceError) as exc:
            # The schedule is read again on the first tick.
            self._database_failed("setting up the schedule", exc)

    def tick(self, *args, **kwargs) -> float:
        try:
            return super().tick(*args, **kwargs)
        except (DatabaseError, InterfaceError) as exc:
            self._database_failed("reading the schedule", exc)
            return RETRY_INTERVAL

    def close(self) -> None:
        logger.info("Celery beat is stopping (shutdown requested); saving the schedule.")
        super().close()

    def _database_failed(self, doing: str, exc: Exception) -> None:
        logger.warning("Celery beat: the database failed while %s (%s: %s); "
                       "trying again in %.0f s.", doing, type(exc).__name__, exc, RETRY_INTERVAL)
        # Read the whole schedule again next time: the failed read may have
        # left it half-built, and the connection is likely broken.
        self._initial_read = True
        self._heap = None
        close_old_connections()
