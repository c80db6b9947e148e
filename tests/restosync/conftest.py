"""Fixtures of the RestoSync tests: the Zenchef simulator on a real port, a webhook receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apps.core.simulator import serve
from apps.restosync.simulator import ZenchefSimulator, build
from tests.core.local_server import WebhookReceiver

# Where the receiver listens: a connection's channel, as the hub's would be.
ZENCHEF_WEBHOOK_PATH = "/api/webhooks/zenchef/1/"


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


@pytest.fixture
def webhook_receiver() -> Iterator[Callable[..., WebhookReceiver]]:
    receivers: list[WebhookReceiver] = []

    def start(fail_first: int = 0) -> WebhookReceiver:
        receivers.append(WebhookReceiver(path=ZENCHEF_WEBHOOK_PATH,
                                         fail_first=fail_first).start())
        return receivers[-1]

    yield start
    for receiver in receivers:
        receiver.stop()
