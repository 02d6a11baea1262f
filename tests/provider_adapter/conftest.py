"""Fixtures: a real simulator (HTTP, port 0) and a real adapter gRPC server pointed at it in demo mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.core.registry import ProviderSpec
from services.simulator.config import SimulatorConfig
from shared.serving import ServiceServer, insecure_channel
from tests.support.services import LOOPBACK_ANY_PORT, running_services
from tests.support.simulator import controlling


@pytest.fixture(scope="session")
async def sim_url() -> AsyncIterator[str]:
    async with running_services() as started:
        yield await started.simulator(SimulatorConfig(listen=LOOPBACK_ANY_PORT, seed=7))


@pytest.fixture
async def sim_control(sim_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session on the simulator's control API; faults are cleared after each test."""
    async with controlling(sim_url) as session:
        yield session


@pytest.fixture(scope="session")
async def adapter(sim_url: str) -> AsyncIterator[ServiceServer]:
    # Two user-supplied OpenAI-compatible endpoints (the simulator under other names) with tight timeouts.
    tight = [
        ProviderSpec(
            name="slowread", dialect="openai_chat", base_url=f"{sim_url}/slowread/v1", auth="none", read_timeout_s=0.3
        ),
        ProviderSpec(
            name="shortdeadline",
            dialect="anthropic_messages",
            base_url=f"{sim_url}/shortdeadline",
            auth="none",
            total_timeout_s=0.4,
        ),
    ]
    async with running_services() as started:
        yield await started.adapter(AdapterConfig(listen=LOOPBACK_ANY_PORT, simulator_url=sim_url, providers=tight))


@pytest.fixture(scope="session")
async def stub(adapter: ServiceServer) -> AsyncIterator[pb_grpc.ProviderServiceStub]:
    channel = insecure_channel(f"127.0.0.1:{adapter.port}")
    yield pb_grpc.ProviderServiceStub(channel)
    await channel.close()
