"""Connecting to NATS with reconnects that never give up (the event log must survive NATS restarts)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import nats
import nats.errors
import structlog
from nats.aio.client import Client as NATS


async def connect(
    servers: Sequence[str],
    logger: structlog.typing.FilteringBoundLogger,
    *,
    name: str,
    connect_timeout_s: float = 2.0,
    on_closed: Callable[[], Awaitable[None]] | None = None,
) -> NATS:
    """A client that reconnects forever. nats-py still closes a client for good on some server errors
    ("maximum control line exceeded"): `on_closed` hears of that (shared.events.healing replaces the client)."""

    async def on_disconnect() -> None:
        logger.warning("nats_disconnected")

    async def on_reconnect() -> None:
        logger.info("nats_reconnected")

    async def on_error(error: Exception) -> None:
        logger.debug("nats_error", error=str(error))

    async def on_close() -> None:
        if on_closed is not None:
            await on_closed()

    return await nats.connect(
        servers=list(servers),
        name=name,
        connect_timeout=connect_timeout_s,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        allow_reconnect=True,
        pending_size=64 * 1024 * 1024,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
        closed_cb=on_close,
    )


async def close_nats(nc: NATS, logger: structlog.typing.FilteringBoundLogger, *, timeout_s: float = 5.0) -> None:
    """Drain (deliver what is pending, then close); when NATS is unreachable or the drain hangs, just close.

    Never raises: it runs during shutdown, and the closers after it (stores, HTTP servers) must still run.
    Events that could not be sent are already in the publisher's spool by then.
    """
    if nc.is_closed:
        return
    if nc.is_connected and await _quietly(nc.drain(), timeout_s, logger, "nats_drain_failed"):
        return
    await _quietly(nc.close(), timeout_s, logger, "nats_close_failed")


async def _quietly(
    step: Coroutine[Any, Any, object], timeout_s: float, logger: structlog.typing.FilteringBoundLogger, event: str
) -> bool:
    try:
        await asyncio.wait_for(step, timeout_s)
        return True
    except (nats.errors.Error, TimeoutError, OSError) as error:
        logger.warning(event, error=repr(error))
    except asyncio.CancelledError:
        # nats-py lets a CancelledError out of its transport when the server vanished mid-close; only a
        # cancellation of this task itself must propagate.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        logger.warning(event, error="connection lost while closing")
    return False
