"""A NATS client the library closed (nats-server's "maximum control line exceeded") is replaced, and events flow
again: the shared HealingConnection with a real nats-server (the router's case: tests/router/test_nats_healing.py)."""

from __future__ import annotations

import uuid

import structlog
from nats.aio.client import Client as NATS

from shared.events import streams, subjects
from shared.events.healing import Backoff, HealingConnection
from shared.events.publisher import EventPublisher
from shared.events.schemas import CostEvent
from tests.support.eventually import eventually
from tests.support.nats_faults import close_by_control_line, wait_cost_event

LOG = structlog.get_logger("test-healing")


async def test_a_closed_client_is_replaced_and_events_flow_again(nats_url: str, nc: NATS) -> None:
    connection = await HealingConnection.open([nats_url], LOG, name="test-healing", backoff=Backoff(base_s=0.05))
    states: list[bool] = []

    async def record(connected: bool) -> None:
        states.append(connected)

    connection.on_state(record)
    publisher = EventPublisher(nc=connection.nc, logger=LOG, retry_interval_s=0.05)

    async def move(fresh: NATS) -> None:
        publisher.use(fresh)

    connection.on_replaced(move)
    publisher.start()
    try:
        await streams.ensure_streams(nc.jetstream())
        first = connection.nc
        await close_by_control_line(first)
        await eventually(lambda: connection.replacements == 1, timeout_s=10, what="the client to be replaced")
        assert connection.nc is not first and connection.connected
        assert states == [False, True]

        tenant = f"t-{uuid.uuid4().hex[:8]}"
        event = CostEvent(
            request_id=uuid.uuid4().hex,
            ts_ms=1,
            tenant=tenant,
            provider="p",
            model="m",
            served_from="remote",
            task_kind="chat",
            cost_micro_usd=7,
        )
        publisher.publish(subjects.cost(tenant), event, msg_id=event.request_id)
        stored = await wait_cost_event(nc, tenant, event.request_id)
        assert stored.cost_micro_usd == 7
    finally:
        await publisher.close()
        await connection.close()


async def test_close_stops_healing(nats_url: str) -> None:
    connection = await HealingConnection.open([nats_url], LOG, name="test-healing-close")
    await connection.close()
    assert connection.nc.is_closed and connection.replacements == 0
