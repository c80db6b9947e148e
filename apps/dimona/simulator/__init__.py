"""A local stand-in for the ONSS Dimona REST v2 API (see app.py).

`build()` is the factory `manage.py run_simulators` and the end-to-end
tests use: it registers the hub's own client id and certificate, so the
hub's client authenticates against the simulator without any setup.
"""

from __future__ import annotations

from typing import Any

from .app import DimonaSimulator

__all__ = ["DimonaSimulator", "build"]


def build(**options: Any) -> DimonaSimulator:
    # Imported here so that importing the simulator does not need settings.
    from django.conf import settings

    from apps.dimona.credentials import dimona_credentials

    credentials = dimona_credentials()
    options.setdefault("clients", {credentials.client_id: credentials.certificate_pem})
    # The hub signs its assertions for the token URL it is configured with;
    # the served URL is accepted as well (see DimonaSimulator._token_audiences).
    options.setdefault("token_audience", settings.DIMONA_TOKEN_URL)
    return DimonaSimulator(**options)
