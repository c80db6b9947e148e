"""Fixtures of the Symphonics tests: simulators on real ports, a quiet client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache

from apps.core.connections import client_cache_clear
from apps.core.models import OutboundOperation
from apps.symphonics import client as client_module
from apps.symphonics import services
from apps.symphonics.models import Intervention
from apps.symphonics.simulator import SymphonicsSimulator, build
from tests.helpers import SimulatorsServed, sleeps_recorded


@pytest.fixture(autouse=True)
def _clean_caches() -> Iterator[None]:
    # Validation answers are cached; locmem would carry them across tests.
    cache.clear()
    client_cache_clear()
    yield
    cache.clear()
    client_cache_clear()


@pytest.fixture
def simulator(settings) -> Iterator[Callable[..., SymphonicsSimulator]]:
    """Start a Symphonics simulator on a free port; the hub's client then points at it.

    It shares the hub's credentials and webhook secret (`build()` reads them)
    and sends no webhooks unless given a `hub_webhook_url`.
    """
    served = SimulatorsServed(settings, paths={"SYMPHONICS_API_URL": ""})
    yield lambda **options: served.start(build(**{"hub_webhook_url": None, **options}))
    served.stop()


@pytest.fixture
def sleeps(monkeypatch) -> Iterator[list[float]]:
    """The hub's Symphonics client records its back-off sleeps instead of sleeping."""
    yield sleeps_recorded(monkeypatch, client_module)


@pytest.fixture
def publish(django_capture_on_commit_callbacks) -> Callable[[Intervention], OutboundOperation]:
    """Publish an intervention as the hub does, its outbox run on commit; its operation back."""

    def publish(intervention: Intervention) -> OutboundOperation:
        with django_capture_on_commit_callbacks(execute=True):
            services.intervention_publish(intervention=intervention)
        intervention.refresh_from_db()
        return OutboundOperation.objects.get(pk=intervention.publish_operation_id)

    return publish


@pytest.fixture
def live_symphonics(simulator, live_server):
    """Symphonics sending its webhooks to the live hub, a moment after each event."""
    return simulator(hub_webhook_url=live_server.url + "/api/webhooks/symphonics/",
                     processing_delay_seconds=1.0, verification_delay_seconds=0.2,
                     webhook_delay_seconds=0.3)
