"""Connecting to NATS with reconnects that never give up (the event log must survive NATS restarts)."""

from __future__ import annotations

from collections.abc import Sequence

import nats
import structlog
from nats.aio.client import Client as NATS


async def connect(
    servers: Sequence[str],
    logger: structlog.typing.FilteringBoundLogger,
    *,
    name: str,
    connect_timeout_s: float = 2.0,
) -> NATS:
    async def on_disconnect() -> None:
        logger.warning("nats_disconnected")

    async def on_reconnect() -> None:
        logger.info("nats_reconnected")

    async def on_error(error: Exception) -> None:
        logger.debug("nats_error", error=str(error))

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
    )
