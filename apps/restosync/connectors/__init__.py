"""The connector registry: one factory per platform.

Adding a platform is one package under `connectors/` (client, mapper,
connector) plus one line in `_BUILT_IN` below. The engine asks
`get_connector(config)` for a `ConnectorConfig` and never names a platform's
class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from apps.core.registry_names import refuse_duplicate
from apps.restosync.connectors.base import (
    Capability,
    NotSupported,
    PlatformConnector,
    capabilities_without_method,
)
from apps.restosync.types import ConnectorConfig

ConnectorFactory = Callable[[ConnectorConfig], PlatformConnector]

# Platform name → the module whose `connector_factory` builds its connector.
# Imported on first use rather than here: a connector module imports the
# core's client, which needs Django's settings and models to be ready.
_BUILT_IN: dict[str, str] = {
    "zenchef": "apps.restosync.connectors.zenchef.connector",
}

_registry: dict[str, ConnectorFactory] = {}


def connector_register(platform: str, factory: ConnectorFactory) -> None:
    """Serve `platform`'s configs with `factory`; another factory under a taken
    name is refused, the same one again is harmless."""
    refuse_duplicate(_registry, platform, factory)
    _registry[platform] = factory


def _load_built_in() -> None:
    for platform, module in _BUILT_IN.items():
        if platform not in _registry:
            connector_register(platform, importlib.import_module(module).connector_factory)


def connector_platforms() -> list[str]:
    _load_built_in()
    return sorted(_registry)


def get_connector(config: ConnectorConfig) -> PlatformConnector:
    """The connector of this config's platform.

    LookupError for a platform no connector serves; TypeError for a factory
    whose connector does not keep the protocol's promises (a declared
    capability without its method), found here rather than mid-sync.
    """
    _load_built_in()
    factory = _registry.get(config.platform)
    if factory is None:
        raise LookupError(f"no connector for the platform {config.platform!r}; "
                          f"known: {', '.join(sorted(_registry)) or 'none'}")
    connector = factory(config)
    if not isinstance(connector, PlatformConnector):
        raise TypeError(f"the {config.platform} factory built {type(connector).__name__}, "
                        "which is not a PlatformConnector")
    missing = capabilities_without_method(connector)
    if missing:
        raise TypeError(f"{type(connector).__name__} declares {', '.join(missing)} "
                        "without implementing it")
    return connector


__all__ = ["Capability", "ConnectorFactory", "NotSupported", "PlatformConnector",
           "connector_platforms", "connector_register", "get_connector"]
