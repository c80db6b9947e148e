"""A local stand-in for MY TUNICLAIM, the platform ARS receives claim batches from.

`build()` is the factory of settings.SIMULATORS (`manage.py run_simulators`);
tests construct it through the `tuniclaim_simulator` fixture. api.py has the
HTTP surface and the control endpoints, pushes.py the checks of a status or
payment push, store.py the state, generator.py the deterministic data
generator and names.py what the data is made of.

The API lives under `/api/`, so the hub's base URL (TUNICLAIM_API_URL) is
the simulator's root, as it is the ARS server's `http://<host>:8083` in
production.
"""

from __future__ import annotations

from typing import Any

from .api import LIST_SHAPES, TuniclaimSimulator
from .generator import BORDEREAU_STATUSES, BS_STATES, DEFAULT_SEED, PAYMENT_STATUSES

__all__ = [
    "BORDEREAU_STATUSES",
    "BS_STATES",
    "DEFAULT_SEED",
    "LIST_SHAPES",
    "PAYMENT_STATUSES",
    "TuniclaimSimulator",
    "build",
]


def build(**options: Any) -> TuniclaimSimulator:
    """A simulator with the default data set (5 bordereaux of 4 claims, fixed seed).

    It asks for the hub's token (TUNICLAIM_API_TOKEN) when the hub has one,
    so `run_simulators` and the hub agree; `options` override anything.
    """
    from django.conf import settings  # here, so the package imports without Django set up

    defaults = {"token": settings.TUNICLAIM_API_TOKEN}
    return TuniclaimSimulator(**{**defaults, **options})
