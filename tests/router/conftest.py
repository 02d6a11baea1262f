"""Router fixtures: the real simulator (HTTP), the real provider-adapter (gRPC) in demo mode pointed at it,
NATS with JetStream, and a router (gRPC, port 0) per test so circuit and Retry-After state never leaks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.server import create_server as create_adapter
from services.router.config import QualityConfig, RouterConfig
from services.router.server import RouterParts, create_router
from services.simulator.config import SimulatorConfig
from services.simulator.server import start_simulator
from shared.logging import get_logger
from shared.serving import ServiceServer, insecure_channel


@pytest.fixture(scope="session")
async def router_sim_url() -> AsyncIterator[str]:
    runner, port = await start_simulator(SimulatorConfig(listen="127.0.0.1:0", seed=11))
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def sim(router_sim_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """The simulator's control API; faults are cleared after each test."""
    async with aiohttp.ClientSession(base_url=router_sim_url) as session:
        yield session
        async with session.delete("/_sim/faults") as response:
            assert response.status == 200


@pytest.fixture(scope="session")
async def adapter_target(router_sim_url: str) -> AsyncIterator[str]:
    service = await create_adapter(
        AdapterConfig(listen="127.0.0.1:0", simulator_url=router_sim_url), get_logger("test-adapter"), environ={}
    )
    await service.start()
    yield f"127.0.0.1:{service.port}"
    await service.stop(0.5)


CHEAPEST_ROUTING = QualityConfig(default_policy="cheapest", use_predictor=False)
RouterFactory = Callable[..., Awaitable[tuple[router_grpc.RouterServiceStub, RouterParts]]]


@pytest.fixture
async def make_router(nats_url: str, adapter_target: str) -> AsyncIterator[RouterFactory]:
    """Start a router with config overrides; everything started is stopped after the test."""
    started: list[tuple[ServiceServer, object]] = []

    async def make(**overrides: object) -> tuple[router_grpc.RouterServiceStub, RouterParts]:
        fields: dict[str, object] = {
            "listen": "127.0.0.1:0",
            "nats_url": nats_url,
            "adapter_target": adapter_target,
            "total_deadline_s": 10.0,
            # These tests pin cost-ranked routing; quality-aware routing has its own tests (test_quality_*).
            "quality": CHEAPEST_ROUTING,
        }
        clock = overrides.pop("clock", time.time)  # seconds since the epoch: dates prices and retirements
        fields.update(overrides)
        config = RouterConfig(**fields)  # type: ignore[arg-type]
        service, parts = await create_router(config, get_logger("test-router"), clock=clock)  # type: ignore[arg-type]
        await service.start()
        channel = insecure_channel(f"127.0.0.1:{service.port}")
        started.append((service, channel))
        return router_grpc.RouterServiceStub(channel), parts

    yield make
    for service, channel in started:
        await channel.close()  # type: ignore[attr-defined]
        await service.stop(0.5)


@pytest.fixture
async def router(make_router: RouterFactory) -> tuple[router_grpc.RouterServiceStub, RouterParts]:
    return await make_router()
