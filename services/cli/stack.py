"""The services of a Bourse stack, in start order, and how `bourse up` launches each of them.

The table is data: module, env prefix, default address and health check per service (docs/conventions.md), and
which peers each one is told about. `plan_stack` turns it into `shared.processes.Launch` entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.provider_adapter.api import builtin_registry_path, load_registry
from shared.processes import Child, Launch, NatsServer, free_port, python_module, wait_healthy, wait_http_healthy


def provider_key_envs() -> list[tuple[str, ...]]:
    """For each provider the adapter knows, the env names its API key may come from (any one is enough)."""
    return [spec.api_key_env for spec in load_registry(builtin_registry_path()) if spec.api_key_env]


@dataclass(frozen=True)
class ServiceSpec:
    """One service: how it is run, where it listens, how its health is checked, which peers it calls."""

    name: str
    module: str
    env_prefix: str
    listen: str
    grpc_health: str = ""  # gRPC health service name; "" means an HTTP /healthz check
    uses_nats: bool = True
    has_metrics: bool = True  # reads `<PREFIX>_METRICS_LISTEN` (set to "" by `bourse up`: no fixed ports to clash)
    # config field -> peer service name; the peer's address is passed as `<PREFIX>_<FIELD>`.
    peers: Mapping[str, str] = field(default_factory=dict)
    # config field -> default listen address of a second listener (the ledger's HTTP dashboard).
    extra_listens: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # fixed extra environment
    # config field -> file path under the stack's state directory (beside the NATS data directory).
    state_files: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_http(self) -> bool:
        return not self.grpc_health


SIMULATOR = ServiceSpec(
    name="simulator", module="services.simulator", env_prefix="BOURSE_SIMULATOR", listen="127.0.0.1:8099",
    uses_nats=False, has_metrics=False,
)  # fmt: skip
PROVIDER_ADAPTER = ServiceSpec(
    name="provider_adapter", module="services.provider_adapter", env_prefix="BOURSE_ADAPTER",
    listen="127.0.0.1:50052", grpc_health="bourse.provider.v1.ProviderService", uses_nats=False,
)  # fmt: skip
CACHE = ServiceSpec(
    name="cache", module="services.cache", env_prefix="BOURSE_CACHE", listen="127.0.0.1:50053",
    grpc_health="bourse.cache.v1.CacheService",
    state_files={"data_dir": "cache"},
)  # fmt: skip
LOCAL_INFERENCE = ServiceSpec(
    name="local_inference", module="services.local_inference", env_prefix="BOURSE_INFERENCE",
    listen="127.0.0.1:50054", grpc_health="bourse.inference.v1.InferenceService", uses_nats=False,
)  # fmt: skip
ROUTER = ServiceSpec(
    name="router", module="services.router", env_prefix="BOURSE_ROUTER", listen="127.0.0.1:50051",
    grpc_health="bourse.router.v1.RouterService",
    peers={"adapter_target": "provider_adapter", "cache_target": "cache", "inference_target": "local_inference"},
)  # fmt: skip
LEDGER = ServiceSpec(
    name="ledger", module="services.ledger", env_prefix="BOURSE_LEDGER", listen="127.0.0.1:50055",
    grpc_health="bourse.ledger.v1.LedgerService", extra_listens={"http_listen": "127.0.0.1:8090"},
    state_files={"db_path": "ledger/ledger.duckdb"},
)  # fmt: skip
GATEWAY = ServiceSpec(
    name="gateway", module="services.gateway", env_prefix="BOURSE_GATEWAY", listen="127.0.0.1:8080",
    peers={"router": "router", "inference": "local_inference"},
)  # fmt: skip

# Start order: a service starts after everything it calls. Stopped in the reverse order.
SERVICES: tuple[ServiceSpec, ...] = (SIMULATOR, PROVIDER_ADAPTER, CACHE, LOCAL_INFERENCE, ROUTER, LEDGER, GATEWAY)


@dataclass(frozen=True)
class StackOptions:
    """What `bourse up` was asked for (every address overridable)."""

    nats_listen: str = "127.0.0.1:4222"
    data_dir: Path = Path("var/nats")
    log_dir: Path = Path("var/log")
    listen: Mapping[str, str] = field(default_factory=dict)  # service name -> "host:port"
    ephemeral_ports: bool = False  # pick free ports for everything (tests; a second stack on one machine)
    simulator: str = "auto"  # "auto" (when a provider key is missing) | "always" | "never"
    skip: frozenset[str] = frozenset()
    log_level: str = "info"
    start_timeout_s: float = 60.0


@dataclass
class StackPlan:
    nats: NatsServer
    launches: list[Launch]
    addresses: dict[str, str]  # service name -> address (host:port, or http://host:port for HTTP services)


def wants_simulator(mode: str, environ: Mapping[str, str]) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return not all(any(environ.get(name) for name in names) for names in provider_key_envs())


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host, int(port)


def _choose(address: str, ephemeral: bool) -> str:
    host, port = _host_port(address)
    return f"{host}:{free_port(host)}" if ephemeral else f"{host}:{port}"


def launch_service(
    spec: ServiceSpec, listen: str, env: Mapping[str, str], *, name: str = "", timeout_s: float = 60.0
) -> Launch:
    """A Launch of `spec` listening on `listen`, ready when its health check passes (gRPC, or HTTP /healthz).

    `name` tells replicas apart (`router-1`); `env` adds to `<PREFIX>_LISTEN`.
    """

    async def ready(child: Child) -> None:
        if spec.is_http:
            await wait_http_healthy(f"http://{listen}/healthz", timeout_s=timeout_s, child=child)
        else:
            await wait_healthy(listen, spec.grpc_health, timeout_s=timeout_s, child=child)

    full_env = {f"{spec.env_prefix}_LISTEN": listen, **env}
    return Launch(name=name or spec.name, argv=python_module(spec.module), ready=ready, env=full_env)


def plan_stack(
    options: StackOptions,
    environ: Mapping[str, str],
    services: Sequence[ServiceSpec] = SERVICES,
) -> StackPlan:
    """Addresses, environment and readiness checks for every service to run, in start order."""
    known = {s.name for s in services} | {f"{s.name}.{f}" for s in services for f in s.extra_listens} | {"nats"}
    unknown = (set(options.listen) - known) | (options.skip - known)
    if unknown:
        raise ValueError(f"unknown service(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    chosen = [s for s in services if s.name not in options.skip]
    if not wants_simulator(options.simulator, environ):
        chosen = [s for s in chosen if s is not SIMULATOR]
    nats_host, nats_port = _host_port(_choose(options.listen.get("nats", options.nats_listen), options.ephemeral_ports))
    nats = NatsServer(data_dir=options.data_dir, host=nats_host, port=nats_port, log_dir=options.log_dir)
    listens = {s.name: _choose(options.listen.get(s.name, s.listen), options.ephemeral_ports) for s in chosen}
    addresses = {s.name: (f"http://{listens[s.name]}" if s.is_http else listens[s.name]) for s in chosen}
    launches = []
    for spec in chosen:
        env = {**spec.env, f"{spec.env_prefix}_LOG_LEVEL": options.log_level}
        if spec.has_metrics:
            env[f"{spec.env_prefix}_METRICS_LISTEN"] = ""
        if spec.uses_nats:
            env[f"{spec.env_prefix}_NATS_URL"] = nats.url
        for config_field, default in spec.extra_listens.items():
            extra = _choose(options.listen.get(f"{spec.name}.{config_field}", default), options.ephemeral_ports)
            env[f"{spec.env_prefix}_{config_field.upper()}"] = extra
            addresses[f"{spec.name}.{config_field}"] = f"http://{extra}"
        for config_field, relative in spec.state_files.items():
            env[f"{spec.env_prefix}_{config_field.upper()}"] = str(options.data_dir.parent / relative)
        for config_field, peer in spec.peers.items():
            if peer in addresses:
                env[f"{spec.env_prefix}_{config_field.upper()}"] = addresses[peer]
        if spec is PROVIDER_ADAPTER and SIMULATOR.name in addresses:
            env["BOURSE_ADAPTER_SIMULATOR_URL"] = addresses[SIMULATOR.name]
        launches.append(launch_service(spec, listens[spec.name], env, timeout_s=options.start_timeout_s))
    addresses["nats"] = nats.url
    return StackPlan(nats=nats, launches=launches, addresses=addresses)
