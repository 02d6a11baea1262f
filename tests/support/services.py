"""Start any Bourse service on port 0 through the factory its `__main__` uses, wait until it is ready, and stop
everything in reverse order.

One method per service; each calls that service's own factory (which only builds), then `start()` (shared.lifecycle),
waits for background `loading` where the service has one, and registers `stop()`; a renamed factory is a one-line
change here.
Configs are the caller's (tests choose their overrides); `listen="127.0.0.1:0"` is what every test passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TypeVar

import grpc

from services.cache.config import CacheConfig
from services.cache.server import SERVICE_NAME as CACHE_SERVICE
from services.cache.server import CacheService
from services.cache.server import create_server as create_cache
from services.gateway.config import GatewayConfig
from services.gateway.server import GatewayServer
from services.gateway.server import create_server as create_gateway
from services.ledger.config import LedgerConfig
from services.ledger.server import LedgerServer
from services.ledger.server import create_server as create_ledger
from services.local_inference.config import SERVICE_NAME as INFERENCE_SERVICE
from services.local_inference.config import InferenceConfig
from services.local_inference.server import create_server as create_inference
from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.server import create_server as create_adapter
from services.router.config import RouterConfig
from services.router.server import RouterParts, create_router
from services.simulator.config import SimulatorConfig
from services.simulator.server import create_server as create_simulator
from shared.lifecycle import Service
from shared.logging import get_logger
from shared.processes import wait_healthy
from shared.serving import ServiceServer, insecure_channel

LOOPBACK_ANY_PORT = "127.0.0.1:0"
READY_TIMEOUT_S = 120.0  # loading SmolLM2 and MiniLM on a machine shared with other work

Stop = Callable[[], Awaitable[None]]
S = TypeVar("S", bound=Service)


class Services:
    """The services one test (or one session) started; `close()` stops them, last started first."""

    def __init__(self, grace_s: float = 0.5) -> None:
        self._stops: list[Stop] = []
        self._grace_s = grace_s

    async def simulator(self, config: SimulatorConfig | None = None) -> str:
        """The provider simulator over HTTP; returns its base URL."""
        config = config or SimulatorConfig(listen=LOOPBACK_ANY_PORT, seed=11)
        simulator = await self._start(await create_simulator(config, get_logger("test-simulator")))
        return f"http://127.0.0.1:{simulator.port}"

    async def adapter(self, config: AdapterConfig, *, environ: Mapping[str, str] | None = None) -> ServiceServer:
        """The provider adapter, SERVING; `environ` defaults to empty so no real provider key is ever read."""
        service = await create_adapter(config, get_logger("test-adapter"), environ=environ or {})
        return await self._start(service)

    async def router(
        self, config: RouterConfig, *, clock: Callable[[], float] = time.time
    ) -> tuple[ServiceServer, RouterParts]:
        """The router, SERVING once `start()` has recovered the prices, and its inner parts.

        `clock` (seconds since the epoch) dates prices and retirements; tests pass their own.
        """
        service, parts = await create_router(config, get_logger("test-router"), clock=clock)
        return await self._start(service), parts

    async def cache(self, config: CacheConfig, *, wait: bool = True) -> CacheService:
        """The semantic cache; with `wait`, returns once its loading finished and health says SERVING."""
        cache = await self._start(await create_cache(config, get_logger("test-cache")))
        if wait:
            await self._loaded(cache, CACHE_SERVICE)
        return cache

    async def inference(self, config: InferenceConfig, *, wait: bool = True) -> ServiceServer:
        """Local inference; with `wait`, returns once its models are loaded and health says SERVING."""
        service = await self._start(await create_inference(config, get_logger("test-inference")))
        if wait:
            await self._loaded(service, INFERENCE_SERVICE)
        return service

    async def ledger(self, config: LedgerConfig, *, clock: Callable[[], float] = time.time) -> LedgerServer:
        """The ledger (gRPC and dashboard), SERVING; `clock` (seconds since the epoch) is the one it reports on."""
        return await self._start(await create_ledger(config, get_logger("test-ledger"), clock=clock))

    async def gateway(self, config: GatewayConfig) -> GatewayServer:
        """The HTTP gateway, taking requests."""
        return await self._start(await create_gateway(config, get_logger("test-gateway")))

    def channel(self, target: str) -> grpc.aio.Channel:
        """A client channel to `target`, closed before the services stop."""
        channel = insecure_channel(target)

        async def close() -> None:
            await channel.close()  # type: ignore[attr-defined]

        self._stops.append(close)
        return channel

    async def close(self) -> None:
        while self._stops:
            await self._stops.pop()()

    async def _start(self, service: S) -> S:
        """Start a built service and register its stop (before start, so a failed start still closes it)."""

        async def stop() -> None:
            await service.stop(self._grace_s)

        self._stops.append(stop)
        await service.start()
        return service

    async def _loaded(self, service: Service, health_name: str) -> None:
        """Wait for the background loading (its error, if any, is raised here), then for health SERVING."""
        if service.loading is not None:
            await asyncio.wait_for(asyncio.shield(service.loading), READY_TIMEOUT_S)
        await wait_healthy(f"127.0.0.1:{service.port}", health_name, timeout_s=READY_TIMEOUT_S)


@asynccontextmanager
async def running_services(grace_s: float = 0.5) -> AsyncIterator[Services]:
    services = Services(grace_s)
    try:
        yield services
    finally:
        await services.close()
