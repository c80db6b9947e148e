"""Log lines: JSON with a UTC time and the request id, from a request and from a task."""

from __future__ import annotations

import io
import json
import logging
import shlex
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery, shared_task
from celery.worker.request import Request
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from gunicorn.config import Config
from kombu.simple import SimpleQueue

from apps.core.context import TASK_HEADER, reset_request_id, set_request_id
from apps.core.log_filters import RequestIdFilter, SecretMaskingFilter
from apps.core.logging import GunicornLogger, JsonFormatter, TextFormatter
from apps.core.middleware import RequestIdMiddleware

logger = logging.getLogger("tests.core.logging_json")


@shared_task(name="tests.log_something")
def log_something(text: str) -> None:
    logger.info("task says %s", text)


@pytest.fixture
def log_lines():
    """What the configured console handler writes, one parsed JSON object per line."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    lines: list[dict] = []

    def read() -> list[dict]:
        lines[:] = [json.loads(line) for line in stream.getvalue().splitlines()]
        return lines

    yield read
    handler.setStream(previous)


def test_it_writes_one_json_object_per_line_with_a_utc_time(log_lines):
    logger.warning("plain %s", "words")

    (line,) = log_lines()
    assert line["level"] == "WARNING"
    assert line["logger"] == "tests.core.logging_json"
    assert line["message"] == "plain words"
    assert line["request_id"] == "-"
    # Django set the process's zone to Brussels; the line is still in UTC.
    assert line["time"].endswith("+00:00")
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0


def test_it_carries_the_request_id_of_the_request(log_lines):
    def view(request):
        logger.info("inside the view")
        return HttpResponse("ok")

    request = RequestFactory().get("/somewhere", headers={"X-Request-ID": "req-abc-1"})
    RequestIdMiddleware(view)(request)

    (line,) = log_lines()
    assert line["message"] == "inside the view"
    assert line["request_id"] == "req-abc-1"


@pytest.mark.django_db
def test_it_names_the_request_of_an_error_django_logs_after_the_middleware(client, log_lines,
                                                                          settings):
    settings.METRICS_TOKEN = "a-token"

    response = client.get("/metrics", headers={"X-Request-ID": "req-401"})

    assert response.status_code == 401
    line = next(line for line in log_lines() if line["logger"] == "django.request")
    assert line["request_id"] == "req-401"


def test_it_masks_secrets_in_messages_and_tracebacks(log_lines):
    logger.info("calling with Authorization: Bearer %s", "Zx81ab92Kd73LmQ")
    try:
        raise ValueError("refused client_secret=Very5ecretValue")
    except ValueError:
        logger.exception("it failed")

    first, second = log_lines()
    assert "Zx81ab92Kd73LmQ" not in json.dumps(first)
    assert "Very5ecretValue" not in json.dumps(second)
    assert "ValueError" in second["exc_info"]


def test_a_task_run_eagerly_during_a_request_logs_under_the_requests_id(log_lines):
    token = set_request_id("req-task-7")
    try:
        log_something.delay("hello")
    finally:
        reset_request_id(token)

    line = next(line for line in log_lines() if line["message"] == "task says hello")
    assert line["request_id"] == "req-task-7"


def test_a_task_enqueued_outside_any_request_logs_under_its_task_id(log_lines):
    log_something.apply_async(("alone",), task_id="task-id-42")

    line = next(line for line in log_lines() if line["message"] == "task says alone")
    assert line["request_id"] == "task-id-42"


def test_the_request_id_travels_in_the_message_to_the_worker(log_lines):
    """Published during a request, run by a worker's request executor: same id."""
    app = Celery("roundtrip", broker="memory://", set_as_current=False)
    app.conf.task_always_eager = False
    app.conf.task_ignore_result = True

    @app.task(name="tests.roundtrip_log")
    def roundtrip_log(text):
        logger.info("worker says %s", text)

    token = set_request_id("req-through-broker")
    try:
        roundtrip_log.apply_async(("hi",))
    finally:
        reset_request_id(token)

    with app.connection_for_read() as conn, SimpleQueue(conn, "celery") as queue:
        message = queue.get(timeout=2)
        assert message.headers[TASK_HEADER] == "req-through-broker"
        Request(message, app=app, task=roundtrip_log).execute()
        message.ack()

    line = next(line for line in log_lines() if line["message"] == "worker says hi")
    assert line["request_id"] == "req-through-broker"


def test_the_text_format_has_the_same_time_and_request_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    record.created = 1_774_746_000.25  # 2026-03-29 01:00:00.250 UTC, the night of a DST change
    RequestIdFilter().filter(record)

    assert TextFormatter().format(record) == "2026-03-29T01:00:00.250+00:00 INFO x [-] hello"
    assert json.loads(JsonFormatter().format(record))["time"] == "2026-03-29T01:00:00.250+00:00"


def test_gunicorns_access_line_is_json_with_the_request_id_the_app_answered(settings):
    settings.LOG_FORMAT = "json"
    config = Config()
    config.set("accesslog", "-")
    gunicorn_logger = GunicornLogger(config)
    stream = io.StringIO()
    for handler in gunicorn_logger.access_log.handlers:
        handler.setStream(stream)
    response = type("Response", (), {"status": "200 OK", "sent": 12,
                                     "headers": [("X-Request-ID", "req-gunicorn")]})()
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/healthz", "PATH_INFO": "/healthz",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1"}
    gunicorn_logger.access(response, [], environ, timedelta(milliseconds=35))

    line = json.loads(stream.getvalue())
    assert line["request_id"] == "req-gunicorn"
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == (
        "GET", "/healthz", "200", 35)
    assert line["time"].endswith("+00:00")
    assert any(isinstance(f, SecretMaskingFilter)
               for handler in gunicorn_logger.error_log.handlers for f in handler.filters)


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_every_process_of_the_procfiles_logs_through_the_hubs_formatters(procfile):
    lines = dict(line.split(":", 1) for line in
                 (Path(settings.BASE_DIR) / procfile).read_text().splitlines() if line)
    web = shlex.split(lines["web"])

    assert web[web.index("--logger-class") + 1] == "apps.core.logging.GunicornLogger"
    for name in ("worker", "beat"):
        arguments = shlex.split(lines[name])
        # config.celery hands Celery's logging to LOGGING; --quiet drops the
        # start banner, which prints the local time without its zone.
        assert arguments[:4] == ["celery", "-A", "config", "--quiet"], name
