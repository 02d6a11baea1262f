"""Reading the BOURSE_DEAD_LETTER stream back: the dead letters whose body or headers mention a marker."""

from __future__ import annotations

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from shared.events import streams
from tests.support.eventually import eventually


async def dead_letters_with(nc: NATS, marker: str) -> list[Msg]:
    """Every dead letter stored so far whose body or original subject holds `marker`."""
    sub = await nc.jetstream().subscribe(
        streams.DEAD_LETTER.subjects[0], ordered_consumer=True, stream=streams.DEAD_LETTER.name
    )
    found: list[Msg] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return found
            headers = msg.headers or {}
            if marker.encode() in msg.data or marker in headers.get("Bourse-Original-Subject", ""):
                found.append(msg)
    finally:
        await sub.unsubscribe()


async def wait_dead_letters(nc: NATS, marker: str, count: int = 1, *, timeout_s: float = 15.0) -> list[Msg]:
    """Wait until `count` dead letters mention `marker`; returns them."""
    seen: list[Msg] = []

    async def enough() -> bool:
        seen[:] = await dead_letters_with(nc, marker)
        return len(seen) >= count

    await eventually(
        enough, timeout_s=timeout_s, what=lambda: f"{count} dead letters naming {marker} (saw {len(seen)})"
    )
    return seen
