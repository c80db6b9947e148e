"""The Celery app; its configuration is the CELERY_* Django settings.

Logging is the Django LOGGING (JSON lines, UTC, request id) in the worker and
beat too, and a task carries the request id of the request that enqueued it.
"""

import os

from celery import Celery, signals

from apps.core.context import task_context_enter, task_context_exit, task_headers_add_request_id
from apps.core.logging import configure_from_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# weak=False: the receivers are module functions, kept alive anyway; Celery's
# signals hold weak references by default.
signals.setup_logging.connect(configure_from_settings, weak=False)
signals.before_task_publish.connect(task_headers_add_request_id, weak=False)
signals.task_prerun.connect(task_context_enter, weak=False)
signals.task_postrun.connect(task_context_exit, weak=False)
