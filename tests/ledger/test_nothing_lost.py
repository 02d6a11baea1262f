"""Nothing lost: nats-server is stopped in the middle of a load run and restarted on the same port and data
directory; events published meanwhile go to the spool and are replayed; every request is in the ledger once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from services.ledger.server import create_server
from shared.events import subjects
from shared.events.connect import connect
from shared.events.publisher import EventPublisher
from shared.events.spool import EventSpool
from shared.logging import get_logger
from shared.processes import NatsServer
from tests.support.eventually import eventually

from .conftest import ledger_config
from .sample_events import event

pytestmark = pytest.mark.slow

PHASE = 600  # events per phase: before the stop, while NATS is down, after the restart


async def _load(publisher: EventPublisher, tenant: str, count: int, ids: list[str]) -> None:
    for i in range(count):
        e = event(tenant=tenant, model=f"m{i % 3}", cost_micro_usd=i)
        publisher.publish(subjects.telemetry(e.provider, e.model), e, msg_id=e.request_id)
        ids.append(e.request_id)
        if i % 20 == 0:
            await asyncio.sleep(0.002)  # a steady request rate, not a single burst


async def test_every_request_is_stored_exactly_once_across_a_nats_restart(tmp_path: Path) -> None:
    nats = NatsServer(data_dir=tmp_path / "nats" / "data", name="nats-restart")
    nats.start()
    logger = get_logger("nothing-lost")
    ledger = await create_server(ledger_config(nats.url, tmp_path, http_listen=""), logger)
    await ledger.start()
    nc = await connect([nats.url], logger, name="router-under-test")
    spool = EventSpool(tmp_path / "spool" / "events.spool", max_bytes=64 * 1024 * 1024)
    publisher = EventPublisher(nc=nc, logger=logger, spool=spool, ack_timeout_s=1.0, retry_interval_s=0.1)
    publisher.start()
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    ids: list[str] = []
    assert ledger.store is not None
    store = ledger.store

    def stored() -> int:
        return int(store.query("SELECT count(*) FROM requests WHERE tenant = ?", [tenant])[0][0])

    try:
        await _load(publisher, tenant, PHASE, ids)
        await eventually(lambda: stored() > 0, what="the ledger receiving the first events")
        nats.stop()  # mid-run: some events are in flight, some not yet sent
        await eventually(lambda: not nc.is_connected, what="the publisher noticing NATS is gone")
        await _load(publisher, tenant, PHASE, ids)
        await eventually(lambda: publisher.stats.spooled > 0 and not publisher._queue, what="events spooled to disk")
        assert spool.pending_bytes > 0
        nats.start()  # same port, same data directory
        await _load(publisher, tenant, PHASE, ids)
        assert await publisher.flush(60), f"publisher did not drain: {publisher.stats}"
        await eventually(lambda: stored() == len(ids), timeout_s=60, what=f"{len(ids)} stored requests")
        rows = store.query("SELECT request_id FROM requests WHERE tenant = ?", [tenant])
        assert sorted(r[0] for r in rows) == sorted(ids)  # every request, once each
        assert publisher.stats.dropped == 0
        assert publisher.stats.replayed >= publisher.stats.spooled > 0
        assert not spool.pending
    finally:
        await publisher.close(1.0)
        await nc.close()
        await ledger.stop(1.0)
        spool.close()
        nats.stop()
