"""The router replaces a NATS client the library closed: health is NOT_SERVING meanwhile, then events and budgets
work on the new client (a real nats-server, simulator, adapter and router)."""

from __future__ import annotations

import uuid

from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NATS

from services.router.config import BudgetRule
from tests.router.conftest import RouterFactory
from tests.support.eventually import eventually
from tests.support.nats_faults import close_by_control_line, wait_cost_event
from tests.support.requests import route
from tests.support.services import Services


async def test_the_router_heals_its_events_and_budgets_and_health_follows(
    make_router: RouterFactory, services: Services, nc: NATS
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    stub, parts = await make_router(
        budgets=[BudgetRule(tenant=tenant, daily_micro_usd=10**9, requests_per_minute=1000)],
        budget_bucket=f"budgets_{uuid.uuid4().hex[:8]}",
    )
    connection = parts.connection
    assert connection is not None
    health = health_pb2_grpc.HealthStub(services.channel(f"127.0.0.1:{parts.port}"))
    seen: list[tuple[bool, int]] = []

    async def health_now(connected: bool) -> None:
        # Runs after the router's own hook: the status it set for this state is what Check answers now.
        answer = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        seen.append((connected, answer.status))

    connection.on_state(health_now)
    before = await stub.Route(route("Say hello.", tenant=tenant), timeout=15)
    assert await wait_cost_event(nc, tenant, before.request_id)

    await close_by_control_line(connection.nc)
    await eventually(lambda: connection.replacements >= 1, timeout_s=10, what="the router's client replaced")

    after = await stub.Route(route("Say hello again.", tenant=tenant), timeout=15)  # budgets admit on the new client
    stored = await wait_cost_event(nc, tenant, after.request_id)
    assert stored.cost_micro_usd == after.cost_micro_usd
    assert seen[:2] == [
        (False, health_pb2.HealthCheckResponse.NOT_SERVING),
        (True, health_pb2.HealthCheckResponse.SERVING),
    ]
    replaced = parts.registry.get_sample_value("bourse_router_nats_clients_replaced_total")
    assert replaced is not None and replaced >= 1
