"""Fixtures of the RestoSync tests: the Zenchef simulator on a real port, a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from apps.core.simulator import serve
from apps.restosync.simulator import ZenchefSimulator, build
from tests.core.local_server import LocalServer


@pytest.fixture
def zenchef_simulator(settings) -> Iterator[Callable[..., ZenchefSimulator]]:
    """Start a Zenchef simulator on a free port; the hub's client then points at it.

    It serves the sandbox restaurant (SANDBOX_RESTAURANT_UID) to the sandbox
    key (SANDBOX_API_KEY) unless told otherwise, and sends no webhook until
    one is registered (`webhooks=` or POST /_sim/webhooks).
    """
    running = []

    def start(**options: Any) -> ZenchefSimulator:
        sim = build(**options)
        server = serve(sim)
        running.append(server)
        settings.ZENCHEF_API_URL = server.url
        return sim

    yield start
    for server in running:
        server.simulator.close()
        server.stop()


class WebhookReceiver(LocalServer):
    """The hub's webhook endpoint: records every POST; can fail the first ones with 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.hits: list[tuple[int, dict[str, str], bytes]] = []  # (answer, headers, body)
        self.fail_first = fail_first
        self.changed = threading.Condition()
        super().__init__()

    @property
    def url(self) -> str:
        return self.base_url + "/api/webhooks/zenchef/1/"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.changed:
                    status = 500 if len(receiver.hits) < receiver.fail_first else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.hits.append((status, headers, body))
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        with self.changed:
            return [(headers, body) for status, headers, body in self.hits if status < 300]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.accepted()]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        """The accepted deliveries once there are at least `count` of them."""
        with self.changed:
            reached = self.changed.wait_for(
                lambda: sum(1 for status, _, _ in self.hits if status < 300) >= count, timeout)
        assert reached, f"{len(self.accepted())} of {count} webhooks arrived"
        return self.accepted()


@pytest.fixture
def webhook_receiver() -> Iterator[Callable[..., WebhookReceiver]]:
    receivers: list[WebhookReceiver] = []

    def start(fail_first: int = 0) -> WebhookReceiver:
        receivers.append(WebhookReceiver(fail_first).start())
        return receivers[-1]

    yield start
    for receiver in receivers:
        receiver.stop()
