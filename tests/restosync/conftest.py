"""Fixtures of the RestoSync tests: the Zenchef simulator on a real port, a webhook
receiver, a configuration of the sandbox restaurant, back-off sleeps recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from apps.core.connections import client_cache_clear
from apps.core.models import Conflict
from apps.restosync import services
from apps.restosync.connectors.zenchef import client as zenchef_client_module
from apps.restosync.models import SyncPlatformConfig
from apps.restosync.simulator import ZenchefSimulator, build
from tests.core.local_server import WebhookReceiver
from tests.helpers import SimulatorsServed, sleeps_recorded
from tests.restosync.factories import make_config
from tests.restosync.helpers import booking, deliver, mapped_reservation

# Where the receiver listens: a connection's channel, as the hub's would be.
ZENCHEF_WEBHOOK_PATH = "/api/webhooks/zenchef/1/"


@pytest.fixture
def zenchef_simulator(settings) -> Iterator[Callable[..., ZenchefSimulator]]:
    """Start a Zenchef simulator on a free port; the hub's client then points at it.

    It serves the sandbox restaurant (SANDBOX_RESTAURANT_UID) to the sandbox
    key (SANDBOX_API_KEY) unless told otherwise, and sends no webhook until
    one is registered (`webhooks=` or POST /_sim/webhooks).
    """
    served = SimulatorsServed(settings, paths={"ZENCHEF_API_URL": ""})
    yield lambda **options: served.start(build(**options))
    served.stop()


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


@pytest.fixture
def sleeps(monkeypatch) -> Iterator[list[float]]:
    """The Zenchef client records its back-off sleeps instead of sleeping."""
    yield sleeps_recorded(monkeypatch, zenchef_client_module)
    client_cache_clear()


@pytest.fixture
def sim(zenchef_simulator, sleeps):
    return zenchef_simulator()


@pytest.fixture
def config() -> SyncPlatformConfig:
    return make_config()


@pytest.fixture
def conflicted(client, config):
    """Imported from Zenchef, then changed here (party of 3, its push not sent yet) and
    there (party of 6, a peanut allergy) before the two met again."""
    deliver(client, config, booking())
    reservation = mapped_reservation(config)
    services.reservation_update(reservation=reservation, party_size=3, notes="Birthday")
    deliver(client, config, booking(numberOfPeople=6, comments="Allergies: nuts, peanuts"))
    return Conflict.objects.get()
