"""The gateway's public surface: what the CLI (`bourse keys`), the benchmarks and other programs may import.

Serving (`create_server`, `GatewayConfig`), API keys and their store, and the HTTP API with the in-process
router the placement benchmark compares.
"""

from services.gateway.config import ENV_PREFIX, GatewayConfig
from services.gateway.core.api_keys import KeyRecord, issue_key, valid_tenant
from services.gateway.direct_router import DirectRouter
from services.gateway.http_api import OpenAIHttpApi
from services.gateway.key_store import KeyStore, open_bucket
from services.gateway.metrics import GatewayMetrics
from services.gateway.server import create_server
from shared.lifecycle import ServiceDefinition

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
