"""A body sent with `Transfer-Encoding: chunked` (no Content-Length) is read
as the server de-chunked it, still refused with 413 past the size limit."""

from __future__ import annotations

import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from apps.core.models import WebhookEvent
from tests.core import webhook_source
from tests.core.webhook_source import body_for, sign

pytestmark = pytest.mark.usefixtures("forget_processed")

ROOT = Path(__file__).resolve().parents[2]
URL = "/webhooks/testhook/"
Status = WebhookEvent.Status


class Trickle(io.RawIOBase):
    """A de-chunked input handing out a few bytes per read, as a socket may."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        piece, self.data = self.data[:size], self.data[size:]
        return piece


@pytest.fixture
def post_chunked(client, django_capture_on_commit_callbacks):
    def post(body: bytes, *, signature: str | None = None, terminated: bool = True):
        environ = {
            "CONTENT_TYPE": "application/json",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "HTTP_X_TESTHOOK_SIGNATURE": sign(body) if signature is None else signature,
            "wsgi.input": Trickle(body),
        }
        if terminated:
            environ["wsgi.input_terminated"] = True
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic("POST", URL, **environ)

    return post


@pytest.mark.django_db
@pytest.mark.urls("tests.core.urls")
def test_it_reads_a_chunked_body_without_content_length(post_chunked):
    body = body_for("evt-chunked", note="n" * 5000)

    response = post_chunked(body)

    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert event.status == Status.PROCESSED
    assert event.body == body.decode()
    assert event.body_bytes == len(body)
    assert [event_id for event_id, _ in webhook_source.processed] == ["evt-chunked"]


@pytest.mark.django_db
@pytest.mark.urls("tests.core.urls")
def test_it_refuses_a_chunked_body_over_the_limit(post_chunked, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    body = body_for("evt-big", note="n" * 1000)

    response = post_chunked(body)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.urls("tests.core.urls")
def test_it_asks_for_a_length_when_the_server_left_the_body_chunked(post_chunked):
    """Without `wsgi.input_terminated` the input may be the raw connection:
    reading it to the end would wait for the sender, who waits for us."""
    response = post_chunked(body_for("evt-1"), terminated=False)

    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
    assert not WebhookEvent.objects.exists()


# -- through a real gunicorn ------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def gunicorn(django_db_setup, tmp_path_factory) -> Iterator[int]:
    """gunicorn serving the test URLs on the test database; yields its port."""
    port = _free_port()
    workdir = tmp_path_factory.mktemp("gunicorn")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.core.gunicorn_settings",
           "DATABASE_URL": _database_url(), "HUB_VAR_DIR": str(workdir),
           "CELERY_TASK_ALWAYS_EAGER": "1", "PYTHONPATH": str(ROOT)}
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--log-level", "warning", "--no-control-socket"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 8
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start: "
                                       + (workdir / "gunicorn.log").read_text()) from None
                time.sleep(0.05)
        yield port
    finally:
        # SIGQUIT: gunicorn's quick shutdown (SIGTERM waits out its workers).
        server.send_signal(signal.SIGQUIT)
        server.wait(timeout=10)
        log.close()


@pytest.mark.postgres
def test_it_accepts_a_really_chunked_delivery_through_gunicorn(gunicorn, transactional_db):
    body = body_for("evt-wire", note="w" * 3000)
    pieces = [body[i:i + 500] for i in range(0, len(body), 500)]
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=8)
    try:
        conn.request("POST", URL, body=iter(pieces), encode_chunked=True,
                     headers={"Content-Type": "application/json",
                              "Transfer-Encoding": "chunked",
                              "X-Testhook-Signature": sign(body)})
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()

    assert response.status == 202, answer
    event = WebhookEvent.objects.get()
    assert event.event_id == "evt-wire"
    assert event.body_bytes == len(body)
    assert event.body == body.decode()
