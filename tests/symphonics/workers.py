"""A stand-in worker process for multi-process tests (spawned, so nothing here
may touch Django before `django.setup()`)."""

from __future__ import annotations

import os
from typing import Any


def validate_users(config: dict[str, Any], index: int, calls: int, start, results) -> None:
    """Validate `calls` distinct users through the hub's own Symphonics client.

    The process has its own Django, client and connections; Redis (rate
    limits, breaker, token) is shared with the others. Its audit trail goes
    to a private in-memory database, not the test's.
    """
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from apps.core.audit import LogContext
    from apps.core.models import Connection, OutboundOperation, SyncLog
    from apps.symphonics.client import symphonics_client

    for name, value in config.items():
        setattr(settings, name, value)
    with connection.schema_editor() as editor:
        editor.create_model(Connection)
        editor.create_model(OutboundOperation)
        editor.create_model(SyncLog)
    # Only the tables the client writes exist, not the users table they refer to.
    connection.disable_constraint_checking()
    client = symphonics_client()
    start.wait(timeout=60)
    answers = [client.validate_user(f"worker{index}-{i}@example.com",
                                    log=LogContext(action="storm")).exists
               for i in range(calls)]
    results.put((index, answers, SyncLog.objects.filter(http_status=429).count()))
