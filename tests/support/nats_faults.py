"""NATS faults the tests inject, and reading one event back from JetStream."""

from __future__ import annotations

import contextlib

import msgspec
import nats.errors
from nats.aio.client import Client as NATS

from shared.events import subjects
from shared.events.schemas import CostEvent
from tests.support.eventually import eventually

# A subject past nats-server's 4 KiB control line: the server answers -ERR and nats-py closes the client for good.
POISON_SUBJECT = "bourse.telemetry." + "x" * 5000


async def close_by_control_line(nc: NATS) -> None:
    with contextlib.suppress(nats.errors.Error, OSError):
        await nc.publish(POISON_SUBJECT, b"{}")
        await nc.flush(timeout=2)
    await eventually(lambda: nc.is_closed, timeout_s=5, what="nats-py to close the client after the server's -ERR")


async def cost_event(nc: NATS, tenant: str, request_id: str) -> CostEvent | None:
    sub = await nc.jetstream().subscribe(subjects.cost(tenant), ordered_consumer=True)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return None
            event = msgspec.json.decode(msg.data, type=CostEvent)
            if event.request_id == request_id:
                return event
    finally:
        await sub.unsubscribe()


async def wait_cost_event(nc: NATS, tenant: str, request_id: str, *, timeout_s: float = 10.0) -> CostEvent:
    """The cost event of `request_id`, once it is in JetStream (fails after `timeout_s`)."""
    found: list[CostEvent] = []

    async def stored() -> bool:
        event = await cost_event(nc, tenant, request_id)
        if event is not None:
            found.append(event)
        return event is not None

    await eventually(stored, timeout_s=timeout_s, what=f"the cost event of {request_id}")
    return found[0]
