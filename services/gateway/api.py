"""The gateway's public surface: what the CLI (`bourse keys`), the benchmarks and other programs may import.

Serving (`create_server`, `GatewayConfig`), API keys and their store, and the HTTP API with the in-process
router the placement benchmark compares.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from services.gateway.config import ENV_PREFIX, GatewayConfig
from services.gateway.core.api_keys import KeyRecord, issue_key, valid_tenant
from services.gateway.key_store import KeyStore, open_bucket
from shared.lifecycle import Logger, ServiceDefinition

if TYPE_CHECKING:
    from services.gateway.direct_router import DirectRouter
    from services.gateway.http_api import OpenAIHttpApi
    from services.gateway.metrics import GatewayMetrics
    from services.gateway.server import GatewayServer

# The HTTP API and the in-process router (the placement benchmark builds them) load aiohttp: imported on first use.
_ON_USE = {
    "DirectRouter": "services.gateway.direct_router",
    "OpenAIHttpApi": "services.gateway.http_api",
    "GatewayMetrics": "services.gateway.metrics",
}


def __getattr__(name: str) -> Any:
    module = _ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


async def create_server(config: GatewayConfig, logger: Logger, **options: Any) -> GatewayServer:
    """The service's factory (see its server module); imported on first use, so the CLI starts light."""
    from services.gateway import server

    return await server.create_server(config, logger, **options)


# How `python -m services.gateway` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("gateway", GatewayConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "SERVICE",
    "DirectRouter",
    "GatewayConfig",
    "GatewayMetrics",
    "KeyRecord",
    "KeyStore",
    "OpenAIHttpApi",
    "create_server",
    "issue_key",
    "open_bucket",
    "valid_tenant",
]
