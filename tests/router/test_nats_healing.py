"""The router replaces a NATS client the library closed: health is NOT_SERVING meanwhile, then events and budgets
work on the new client (a real nats-server, simulator, adapter and router)."""

from __future__ import annotations

import time
import uuid

from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NATS

from services.router.config import BudgetRule
from services.router.core.quality.evidence_event import QualityEvidence, encode_evidence
from services.router.quality_events import evidence_subject
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
    # Health turns SERVING once every owner moved to the new client (after `replacements` counts it).
    await eventually(lambda: len(seen) >= 2, timeout_s=10, what="health back to SERVING")
    assert seen[:2] == [
        (False, health_pb2.HealthCheckResponse.NOT_SERVING),
        (True, health_pb2.HealthCheckResponse.SERVING),
    ]
    replaced = parts.registry.get_sample_value("bourse_router_nats_clients_replaced_total")
    assert replaced is not None and replaced >= 1


async def test_quality_evidence_follows_the_replacement_client_and_is_applied_once(
    make_router: RouterFactory, nc: NATS
) -> None:
    tenant = f"q-{uuid.uuid4().hex[:8]}"
    _, parts = await make_router()
    connection, quality = parts.connection, parts.quality
    assert connection is not None and quality is not None
    js = nc.jetstream()
    applied = {"direction": "in", "outcome": "applied"}
    start = quality.count("evidence", applied)

    async def publish_evidence(n: int) -> None:
        evidence = QualityEvidence(
            tenant=tenant,
            task_kind="chat",
            model_key="openai/gpt-4o-mini",
            successes=1.0,
            failures=0.0,
            ts_ms=int(time.time() * 1000),
            source="feedback",
            request_id=f"r{n}",
        )
        await js.publish(evidence_subject(tenant), encode_evidence(evidence), headers={"Nats-Msg-Id": f"{tenant}-{n}"})

    async def applied_count(n: int) -> None:
        await eventually(lambda: quality.count("evidence", applied) - start >= n, timeout_s=10, what=f"{n} applied")

    await publish_evidence(1)
    await applied_count(1)
    await close_by_control_line(connection.nc)
    await eventually(lambda: connection.replacements >= 1, timeout_s=10, what="the router's client replaced")
    await publish_evidence(2)
    await applied_count(2)
    await publish_evidence(3)
    await applied_count(3)
    assert quality.count("evidence", applied) - start == 3  # the first was not replayed onto the new client
