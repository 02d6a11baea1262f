"""Fixtures: a real simulator (HTTP, port 0) and a real adapter gRPC server pointed at it in demo mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.core.registry import ProviderSpec
from services.provider_adapter.server import create_server
from services.simulator.config import SimulatorConfig
from services.simulator.server import start_simulator
from shared.logging import get_logger
from shared.serving import ServiceServer, insecure_channel


@pytest.fixture(scope="session")
async def sim_url() -> AsyncIterator[str]:
    runner, port = await start_simulator(SimulatorConfig(listen="127.0.0.1:0", seed=7))
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def sim_control(sim_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session on the simulator's control API; faults are cleared after each test."""
    async with aiohttp.ClientSession(base_url=sim_url) as session:
        yield session
        async with session.delete("/_sim/faults") as response:
            assert response.status == 200


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
    config = AdapterConfig(listen="127.0.0.1:0", simulator_url=sim_url, providers=tight)
    service = await create_server(config, get_logger("test-adapter"), environ={})
    await service.start()
    yield service
    await service.stop(0.5)


@pytest.fixture(scope="session")
async def stub(adapter: ServiceServer) -> AsyncIterator[pb_grpc.ProviderServiceStub]:
    channel = insecure_channel(f"127.0.0.1:{adapter.port}")
    yield pb_grpc.ProviderServiceStub(channel)
    await channel.close()
