"""The provider adapter's public surface: what the CLI, the benchmarks and other programs may import.

Serving (`create_server`, `AdapterConfig`), the provider registry (`bourse up` lists the providers), and the
dialect pieces the CPU benchmarks drive without a server.
"""

from services.provider_adapter.config import ENV_PREFIX, AdapterConfig
from services.provider_adapter.core.dialects import dialect_registry
from services.provider_adapter.core.provider import Call
from services.provider_adapter.core.quirks import Quirks
from services.provider_adapter.core.registry import builtin_registry_path, load_registry
from services.provider_adapter.core.sse import SseParser
from services.provider_adapter.core.usage import prompt_chars
from services.provider_adapter.core.wire_json import ENCODER
from services.provider_adapter.server import create_server
from shared.lifecycle import ServiceDefinition

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
