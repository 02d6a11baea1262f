"""Builds one Provider per registry entry: credentials, one pooled HTTP transport each, demo-mode routing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.core.credentials import Credentials, Redactor, load_credentials
from services.provider_adapter.core.dialects import dialect_registry
from services.provider_adapter.core.http_provider import HttpProvider, Upstream
from services.provider_adapter.core.provider import Provider
from services.provider_adapter.core.registry import ProviderSpec, builtin_registry_path, load_registry, merge_specs
from services.provider_adapter.http_transport import AiohttpTransport, new_session
from shared.config import ConfigError
from shared.errors import Reason, UpstreamError
from shared.instrumentation import Instruments, NoInstruments


@dataclass
class ProviderSet:
    """The providers the adapter can call, the HTTP transports behind them, and how each is reached."""

    providers: dict[str, Provider] = field(default_factory=dict)
    transports: list[AiohttpTransport] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)  # provider -> "api" | "simulator" | "no key"
    missing_key: dict[str, str] = field(default_factory=dict)  # provider -> env var names to set
    redactor: Redactor = field(default_factory=lambda: Redactor(()))

    def get(self, name: str, model: str) -> Provider:
        provider = self.providers.get(name)
        if provider is not None:
            return provider
        meta = {"provider": name, "model": model}
        if name in self.missing_key:
            raise UpstreamError(
                f"no API key for provider {name!r}: set {self.missing_key[name]} (or run with a simulator_url)",
                reason=Reason.AUTHENTICATION,
                metadata=meta,
            )
        raise UpstreamError(
            f"unknown provider {name!r}; known: {', '.join(sorted(self.routes))}",
            reason=Reason.UNKNOWN_PROVIDER,
            metadata=meta,
        )

    async def close(self) -> None:
        for transport in self.transports:
            await transport.close()


def provider_specs(config: AdapterConfig) -> dict[str, ProviderSpec]:
    specs = load_registry(builtin_registry_path())
    if config.registry_path:
        specs = list(merge_specs(specs, load_registry(Path(config.registry_path))).values())
    return merge_specs(specs, config.providers)


async def build_providers(
    config: AdapterConfig,
    environ: Mapping[str, str],
    instruments: Instruments | None = None,
    propagate: Callable[[MutableMapping[str, str]], None] | None = None,
) -> ProviderSet:
    """Create every provider once (call inside the running event loop: sessions bind to it).

    `propagate` adds the trace context to upstream request headers (tracing on).
    """
    instruments = instruments or NoInstruments()
    dialects = dialect_registry()
    specs = provider_specs(config)
    keys: dict[str, Credentials] = {}
    for name, spec in specs.items():
        if spec.dialect not in dialects:
            raise ConfigError(f"provider {name}: unknown dialect {spec.dialect!r}; known: {sorted(dialects)}")
        keys[name] = load_credentials(spec.api_key_env, (*spec.key_files, *config.key_files.get(name, ())), environ)
    # Every provider scrubs every known key from what it returns, not only its own.
    result = ProviderSet(redactor=Redactor(key for creds in keys.values() for key in creds.values()))
    for name, spec in specs.items():
        dialect = dialects[spec.dialect]
        credentials = keys[name]
        if credentials or spec.auth == "none":
            base_url, route = spec.base_url.rstrip("/"), "api"
            regions = {region: url.rstrip("/") for region, url in spec.regions.items()}
        elif config.simulator_url:
            base_url = f"{config.simulator_url.rstrip('/')}/{name}{dialect.simulator_prefix}"
            route, regions = "simulator", {}
        else:
            result.routes[name] = "no key"
            result.missing_key[name] = " or ".join(spec.api_key_env) or f"a key file for {name}"
            continue
        transport = AiohttpTransport(new_session(spec), propagate)
        result.transports.append(transport)
        upstream = Upstream(
            name=name,
            base_url=base_url,
            auth=spec.auth,
            quirks=spec.quirks,
            total_timeout_s=spec.total_timeout_s,
            regions=regions,
        )
        result.routes[name] = route
        result.providers[name] = HttpProvider(
            upstream, dialect, transport, credentials, result.redactor, instruments=instruments
        )
    return result
