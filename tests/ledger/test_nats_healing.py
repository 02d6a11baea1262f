"""The ledger replaces a NATS client the library closed and goes on storing events (real nats-server, real
ledger): health is NOT_SERVING while the client is closed, SERVING again after."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NATS

from shared.events import subjects
from tests.support.eventually import eventually
from tests.support.nats_faults import close_by_control_line
from tests.support.services import Services

from .conftest import ledger_config
from .sample_events import event


async def test_the_ledger_consumes_again_after_its_client_was_closed(
    nats_url: str, nc: NATS, tmp_path: Path, services: Services
) -> None:
    ledger = await services.ledger(ledger_config(nats_url, tmp_path))
    connection, store = ledger.connection, ledger.store
    assert connection is not None and store is not None
    health = health_pb2_grpc.HealthStub(services.channel(f"127.0.0.1:{ledger.port}"))
    seen: list[tuple[bool, int]] = []

    async def health_now(connected: bool) -> None:
        answer = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        seen.append((connected, answer.status))

    connection.on_state(health_now)
    await close_by_control_line(connection.nc)
    await eventually(lambda: connection.replacements == 1, timeout_s=10, what="the ledger's client replaced")

    tenant = f"t-{uuid.uuid4().hex[:8]}"
    after = event(tenant=tenant)
    await nc.jetstream().publish(
        subjects.telemetry(after.provider, after.model),
        msgspec.json.encode(after),
        headers={"Nats-Msg-Id": after.request_id},
    )
    await eventually(lambda: store.has_request(after.request_id), timeout_s=15, what="an event stored after")
    assert seen == [
        (False, health_pb2.HealthCheckResponse.NOT_SERVING),
        (True, health_pb2.HealthCheckResponse.SERVING),
    ]
