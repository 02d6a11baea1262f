"""Router fixtures: the real simulator (HTTP), the real provider-adapter (gRPC) in demo mode pointed at it,
NATS with JetStream, and a router (gRPC, port 0) per test so circuit and Retry-After state never leaks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from services.provider_adapter.config import AdapterConfig
from services.router.config import QualityConfig, RouterConfig
from services.router.server import RouterParts
from services.simulator.config import SimulatorConfig
from tests.support.services import LOOPBACK_ANY_PORT, Services, running_services
from tests.support.simulator import controlling


@pytest.fixture(scope="session")
async def router_sim_url() -> AsyncIterator[str]:
    async with running_services() as started:
        yield await started.simulator(SimulatorConfig(listen=LOOPBACK_ANY_PORT, seed=11))


@pytest.fixture
async def sim(router_sim_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """The simulator's control API; faults are cleared after each test."""
    async with controlling(router_sim_url) as session:
        yield session


@pytest.fixture(scope="session")
async def adapter_target(router_sim_url: str) -> AsyncIterator[str]:
    async with running_services() as started:
        service = await started.adapter(AdapterConfig(listen=LOOPBACK_ANY_PORT, simulator_url=router_sim_url))
        yield f"127.0.0.1:{service.port}"


CHEAPEST_ROUTING = QualityConfig(default_policy="cheapest", use_predictor=False)
RouterFactory = Callable[..., Awaitable[tuple[router_grpc.RouterServiceStub, RouterParts]]]


@pytest.fixture
async def make_router(nats_url: str, adapter_target: str, services: Services) -> RouterFactory:
    """Start a router with config overrides; everything started is stopped after the test."""

    async def make(**overrides: object) -> tuple[router_grpc.RouterServiceStub, RouterParts]:
        fields: dict[str, object] = {
            "listen": LOOPBACK_ANY_PORT,
            "nats_url": nats_url,
            "adapter_target": adapter_target,
            "total_deadline_s": 10.0,
            # These tests pin cost-ranked routing; quality-aware routing has its own tests (test_quality_*).
            "quality": CHEAPEST_ROUTING,
        }
        clock = overrides.pop("clock", time.time)  # seconds since the epoch: dates prices and retirements
        fields.update(overrides)
        service, parts = await services.router(RouterConfig(**fields), clock=clock)  # type: ignore[arg-type]
        return router_grpc.RouterServiceStub(services.channel(f"127.0.0.1:{service.port}")), parts

    return make


@pytest.fixture
async def router(make_router: RouterFactory) -> tuple[router_grpc.RouterServiceStub, RouterParts]:
    return await make_router()
