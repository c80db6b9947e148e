"""A local stand-in for Zenchef, speaking the Formitable v1.2 partner API.

`build()` is the factory for settings.SIMULATORS (`manage.py run_simulators`);
tests construct `ZenchefSimulator` directly. api.py has the HTTP surface and
the control endpoints, ledger.py what happens to bookings, store.py the
wire shapes, availability.py the availability answers, webhooks.py the
(hypothetical, configurable) webhook to the hub, ratelimit.py the
100-a-minute limit.

The simulator serves the API under `/api/v1.2/`, so the hub's base URL is
the simulator's root, as it is `https://api.formitable.com` in production.
"""

from __future__ import annotations

from typing import Any

from .api import DEFAULT_SOURCE, SANDBOX_API_KEY, SANDBOX_RESTAURANT_UID, ZenchefSimulator
from .webhooks import WebhookSettings, sign

__all__ = [
    "DEFAULT_SOURCE",
    "SANDBOX_API_KEY",
    "SANDBOX_RESTAURANT_UID",
    "WebhookSettings",
    "ZenchefSimulator",
    "build",
    "sign",
]


def build(**options: Any) -> ZenchefSimulator:
    """A simulator with the sandbox restaurant and key; `options` override them.

    It needs no setting of its own: the restaurant's webhook is registered
    at run time (`POST /_sim/webhooks`), once the hub knows its URL, as a
    restaurant does in Zenchef's Settings > Partners.
    """
    return ZenchefSimulator(**options)
