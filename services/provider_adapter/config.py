"""Provider-adapter configuration (env prefix BOURSE_ADAPTER)."""

from __future__ import annotations

import msgspec

from services.provider_adapter.core.registry import ProviderSpec

ENV_PREFIX = "BOURSE_ADAPTER"


class AdapterConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    listen: str = "127.0.0.1:50052"
    log_level: str = "info"
    metrics_listen: str = ""
    # Demo mode: every provider without an API key is sent to this simulator at {simulator_url}/{provider}/...
    simulator_url: str = ""
    # A provider registry file (same shape as the built-in providers.json) whose entries add to or replace the
    # built-in ones; empty uses only the built-in registry.
    registry_path: str = ""
    # Extra or replacement providers inline (for example a vLLM or Ollama server at a user-supplied base URL).
    providers: list[ProviderSpec] = []
    # Key files per provider name, one key per line; added to the keys found in the environment.
    key_files: dict[str, list[str]] = {}
    # Seconds in-flight calls get to finish on SIGTERM.
    shutdown_grace_s: float = 5.0
