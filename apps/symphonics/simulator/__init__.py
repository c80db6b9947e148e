"""A local stand-in for the Symphonics CRM and validation API.

`build()` is the factory named in settings.SIMULATORS (used by
`manage.py run_simulators`); tests construct `SymphonicsSimulator` directly.
See api.py for the HTTP surface, lifecycle.py for the intervention state
machine and webhooks.py for what is sent back to the hub.
"""

from __future__ import annotations

from typing import Any

from .api import SymphonicsSimulator
from .webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, sign

__all__ = ["EVENT_ID_HEADER", "SIGNATURE_HEADER", "SymphonicsSimulator", "build", "sign"]

HUB_WEBHOOK_PATH = "/api/webhooks/symphonics/"


def build(**options: Any) -> SymphonicsSimulator:
    """A simulator wired to this hub's settings; `options` override any of them."""
    from django.conf import settings  # here, so the package imports without Django set up

    defaults = {
        "client_id": settings.SYMPHONICS_CLIENT_ID,
        "client_secret": settings.SYMPHONICS_CLIENT_SECRET,
        "webhook_secret": settings.SYMPHONICS_WEBHOOK_SECRET,
        "hub_webhook_url": settings.HUB_BASE_URL.rstrip("/") + HUB_WEBHOOK_PATH,
    }
    return SymphonicsSimulator(**{**defaults, **options})
