"""Gateway fixtures: a real NATS KV key bucket, a gRPC RouterService on port 0, the gateway on port 0."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from services.gateway.config import GatewayConfig
from services.gateway.core.api_keys import issue_key
from services.gateway.key_store import KeyStore, open_bucket
from services.gateway.server import GatewayServer
from shared.events.connect import connect
from shared.logging import get_logger
from shared.serving import new_server
from tests.gateway.scripted_router import ScriptedRouter
from tests.support.services import LOOPBACK_ANY_PORT, Services, running_services


@dataclass
class GatewayStack:
    gateway: GatewayServer
    router: ScriptedRouter
    keys: KeyStore
    key: str
    key_id: str
    tenant: str
    config: GatewayConfig

    @property
    def base_url(self) -> str:
        return self.gateway.base_url

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"


@pytest.fixture(scope="session")
async def scripted_router() -> AsyncIterator[tuple[ScriptedRouter, int]]:
    servicer = ScriptedRouter()
    server = new_server(listen="127.0.0.1:0", service_names=["bourse.router.v1.RouterService"], logger=get_logger("t"))
    router_grpc.add_RouterServiceServicer_to_server(servicer, server.server)
    await server.start()
    yield servicer, server.port
    await server.stop(0)


@pytest.fixture(scope="session")
async def stack(nats_url: str, scripted_router: tuple[ScriptedRouter, int]) -> AsyncIterator[GatewayStack]:
    router, port = scripted_router
    bucket = f"TEST_KEYS_{secrets.token_hex(4)}"
    config = GatewayConfig(
        listen="127.0.0.1:0",
        router=f"127.0.0.1:{port}",
        inference="127.0.0.1:1",  # nothing listens there: /v1/embeddings must fail cleanly (503)
        nats_url=nats_url,
        keys_bucket=bucket,
        max_body_bytes=64 * 1024,
        request_timeout_s=60.0,  # longer than any wait in the tests: a cancelled call must not wait for it
    )
    logger = get_logger("gateway-test")
    nc = await connect([nats_url], logger, name="gateway-test-keys")
    keys = KeyStore(await open_bucket(nc.jetstream(), bucket), logger)
    issued = issue_key("acme", "tests")
    await keys.put(issued.record)
    async with running_services() as started:
        yield GatewayStack(
            gateway=await started.gateway(config),
            router=router,
            keys=keys,
            key=issued.key,
            key_id=issued.record.key_id,
            tenant="acme",
            config=config,
        )
    await nc.drain()


@dataclass
class RealStack:
    """The simulator, the provider adapter in demo mode, the real router, and a gateway in front."""

    gateway: GatewayServer
    router_port: int
    sim_url: str
    key: str
    key_id: str
    tenant: str
    nats_url: str
    capped_key: str  # a key of tenant "capped", whose router budget allows one request per minute

    @property
    def base_url(self) -> str:
        return self.gateway.base_url


@pytest.fixture(scope="session")
async def real_stack(nats_url: str) -> AsyncIterator[RealStack]:
    from services.provider_adapter.config import AdapterConfig
    from services.router.config import BudgetRule, QualityConfig, RouterConfig

    logger = get_logger("gateway-e2e")
    started = Services()
    sim_url = await started.simulator()
    adapter = await started.adapter(AdapterConfig(listen=LOOPBACK_ANY_PORT, simulator_url=sim_url))
    router, _ = await started.router(
        RouterConfig(
            listen="127.0.0.1:0",
            nats_url=nats_url,
            adapter_target=f"127.0.0.1:{adapter.port}",
            budgets=[BudgetRule(tenant="capped", requests_per_minute=1)],
            budget_bucket=f"e2e_budgets_{secrets.token_hex(4)}",
            quality=QualityConfig(default_policy="cheapest", use_predictor=False),
        ),
    )
    bucket = f"E2E_KEYS_{secrets.token_hex(4)}"
    nc = await connect([nats_url], logger, name="gateway-e2e-keys")
    keys = KeyStore(await open_bucket(nc.jetstream(), bucket), logger)
    issued = issue_key("e2e-tenant", "e2e")
    capped = issue_key("capped", "e2e budget")
    await keys.put(issued.record)
    await keys.put(capped.record)
    gateway = await started.gateway(
        GatewayConfig(
            listen=LOOPBACK_ANY_PORT,
            router=f"127.0.0.1:{router.port}",
            inference="127.0.0.1:1",
            nats_url=nats_url,
            keys_bucket=bucket,
            request_timeout_s=30.0,
        )
    )
    yield RealStack(
        gateway=gateway,
        router_port=router.port,
        sim_url=sim_url,
        key=issued.key,
        key_id=issued.record.key_id,
        tenant="e2e-tenant",
        nats_url=nats_url,
        capped_key=capped.key,
    )
    await started.close()
    await nc.drain()
