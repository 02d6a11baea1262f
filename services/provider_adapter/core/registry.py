"""The provider registry: every provider as data (dialect, base URL, auth style, key variables, quirks).

The built-in entries live in providers.json beside this file; a deployment adds or overrides entries (a vLLM,
llama.cpp or Ollama server at its own base URL) through the adapter's configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec

from services.provider_adapter.core.quirks import Quirks
from shared.config import ConfigError

AUTH_STYLES = frozenset({"bearer", "x-api-key", "x-goog-api-key", "api-key", "none"})
RESERVED_NAMES = frozenset({"local", "cache"})  # the router's own sources, never an HTTP provider


class ProviderSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One upstream provider."""

    name: str
    # Key of the dialect registry: "openai_chat", "anthropic_messages" or "gemini_generate".
    dialect: str
    # Base URL the dialect's paths are appended to (for OpenAI-compatible ones, including the /v1 part).
    base_url: str
    # How the key is sent: "bearer" (Authorization: Bearer), "x-api-key", "x-goog-api-key", "api-key", "none".
    auth: str = "bearer"
    # Environment variables holding keys; each may hold several, comma-separated.
    api_key_env: tuple[str, ...] = ()
    # Files holding keys, one per line.
    key_files: tuple[str, ...] = ()
    connect_timeout_s: float = 5.0
    # Longest silence while reading a response (between stream events for streams).
    read_timeout_s: float = 60.0
    # Ceiling for a whole call; the caller's gRPC deadline shortens it.
    total_timeout_s: float = 300.0
    # Connections kept open to this upstream.
    max_connections: int = 100
    quirks: Quirks = Quirks()
    # Regional endpoints: region name -> base URL. Empty: one global endpoint that serves any region. Otherwise a
    # region not listed here is refused (UNSUPPORTED_FIELD, field "region"); no region means base_url.
    regions: dict[str, str] = {}

    def __post_init__(self) -> None:
        if self.auth not in AUTH_STYLES:
            raise ValueError(f"auth must be one of {sorted(AUTH_STYLES)}")
        if self.name in RESERVED_NAMES:
            raise ValueError(f"provider name {self.name!r} is reserved by the router")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")


class RegistryFile(msgspec.Struct, forbid_unknown_fields=True):
    providers: list[ProviderSpec]


def builtin_registry_path() -> Path:
    return Path(__file__).with_name("providers.json")


def load_registry(path: Path) -> list[ProviderSpec]:
    try:
        return msgspec.json.decode(path.read_bytes(), type=RegistryFile).providers
    except OSError as error:
        raise ConfigError(f"cannot read provider registry {path}: {error.strerror}") from error
    except msgspec.ValidationError as error:
        raise ConfigError(f"invalid provider registry {path}: {error}") from error


def merge_specs(base: Iterable[ProviderSpec], overrides: Iterable[ProviderSpec]) -> dict[str, ProviderSpec]:
    """Entries by name; an override with the same name replaces the built-in entry."""
    specs = {spec.name: spec for spec in base}
    for spec in overrides:
        specs[spec.name] = spec
    return specs
