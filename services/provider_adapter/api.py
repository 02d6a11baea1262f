"""The provider adapter's public surface: what the CLI, the benchmarks and other programs may import.

Serving (`create_server`, `AdapterConfig`), the provider registry (`bourse up` lists the providers), and the
dialect pieces the CPU benchmarks drive without a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.provider_adapter.config import ENV_PREFIX, AdapterConfig
from services.provider_adapter.core.dialects import dialect_registry
from services.provider_adapter.core.provider import Call
from services.provider_adapter.core.quirks import Quirks
from services.provider_adapter.core.registry import builtin_registry_path, load_registry
from services.provider_adapter.core.sse import SseParser
from services.provider_adapter.core.usage import prompt_chars
from services.provider_adapter.core.wire_json import ENCODER
from shared.lifecycle import Logger, ServiceDefinition

if TYPE_CHECKING:
    from shared.serving import ServiceServer


async def create_server(config: AdapterConfig, logger: Logger, **options: Any) -> ServiceServer:
    """The service's factory (see its server module); imported on first use, so the CLI starts light."""
    from services.provider_adapter import server

    return await server.create_server(config, logger, **options)


# How `python -m services.provider_adapter` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("provider_adapter", AdapterConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENCODER",
    "ENV_PREFIX",
    "SERVICE",
    "AdapterConfig",
    "Call",
    "Quirks",
    "SseParser",
    "builtin_registry_path",
    "create_server",
    "dialect_registry",
    "load_registry",
    "prompt_chars",
]
