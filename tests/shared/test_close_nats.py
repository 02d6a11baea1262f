"""Shutdown with NATS away: close_nats never raises, so the closers after it (stores, HTTP) still run."""

from __future__ import annotations

from pathlib import Path

from shared.events.connect import close_nats, connect
from shared.logging import get_logger
from shared.processes import NatsServer


async def test_close_nats_when_the_server_is_gone_closes_without_raising(tmp_path: Path) -> None:
    server = NatsServer(data_dir=tmp_path / "data", name="close-nats")
    server.start()
    nc = await connect([server.url], get_logger("test"), name="close-test")
    server.stop()  # the client is now reconnecting: a plain drain() raises ConnectionReconnectingError
    await close_nats(nc, get_logger("test"), timeout_s=2.0)
    assert nc.is_closed
    await close_nats(nc, get_logger("test"))  # a second call is a no-op


async def test_close_nats_drains_a_live_connection(nats_url: str) -> None:
    nc = await connect([nats_url], get_logger("test"), name="close-test")
    await nc.publish("bourse.test.close", b"x")
    await close_nats(nc, get_logger("test"))
    assert nc.is_closed
