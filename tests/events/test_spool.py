"""The spool keeps events in order on disk, bounded, across restarts and torn writes; the publisher replays it
in order once NATS is back."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest

from shared.events import streams, subjects
from shared.events.connect import connect
from shared.events.publisher import EventPublisher
from shared.events.schemas import TelemetryEvent
from shared.events.spool import EventSpool, SpooledEvent
from shared.logging import get_logger
from shared.processes import NatsServer
from tests.support.eventually import eventually


def _events(n: int, start: int = 0) -> list[SpooledEvent]:
    return [SpooledEvent("bourse.telemetry.p.m", f"payload-{i}".encode(), f"id-{i}") for i in range(start, start + n)]


def test_append_peek_commit_in_order_and_reset_when_drained(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path / "s.spool")
    assert spool.append(_events(5)) == 5
    batch, end = spool.peek(3)
    assert [e.msg_id for e in batch] == ["id-0", "id-1", "id-2"]
    spool.commit(end)
    spool.append(_events(1, start=5))
    batch, end = spool.peek(10)
    assert [e.msg_id for e in batch] == ["id-3", "id-4", "id-5"]
    spool.commit(end)
    assert not spool.pending
    assert (tmp_path / "s.spool").stat().st_size == 0


def test_offset_survives_a_reopen(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path / "s.spool")
    spool.append(_events(4))
    _, end = spool.peek(2)
    spool.commit(end)
    spool.close()
    reopened = EventSpool(tmp_path / "s.spool")
    assert [e.msg_id for e in reopened.peek(10)[0]] == ["id-2", "id-3"]


@pytest.mark.parametrize(
    "tail", [b"\x00\x00", b"\x00\x00\x00\x40\x00\x00\x00\x00partial", b"\x00\x00\x00\x03\xde\xad\xbe\xefabc"]
)
def test_torn_or_corrupt_tail_is_cut_off(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "s.spool"
    spool = EventSpool(path)
    spool.append(_events(3))
    spool.close()
    with path.open("ab") as f:
        f.write(tail)
    reopened = EventSpool(path)
    reopened.append(_events(1, start=3))
    assert [e.msg_id for e in reopened.peek(10)[0]] == ["id-0", "id-1", "id-2", "id-3"]


def test_spool_is_bounded(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path / "s.spool", max_bytes=200)
    written = spool.append(_events(50))
    assert 0 < written < 50
    assert spool.pending_bytes <= 200
    assert spool.append(_events(1, start=99)) == 0


async def test_spooled_events_survive_a_publisher_restart_and_replay_in_order(tmp_path: Path) -> None:
    nats = NatsServer(data_dir=tmp_path / "nats" / "data", name="nats-spool")
    nats.start()
    logger = get_logger("spool-test")
    nc = await connect([nats.url], logger, name="spool-test")
    try:
        await streams.ensure_streams(nc.jetstream())
        nats.stop()
        await eventually(lambda: not nc.is_connected, what="disconnect")
        model = f"m-{uuid.uuid4().hex[:8]}"
        ids = [uuid.uuid4().hex for _ in range(30)]
        spool_path = tmp_path / "spool" / "events.spool"
        first = EventPublisher(nc=nc, logger=logger, spool=EventSpool(spool_path), retry_interval_s=0.05)
        first.start()
        for rid in ids:
            e = TelemetryEvent(
                request_id=rid, ts_ms=1, tenant="t", task_kind="chat", provider="p", model=model, served_from="remote"
            )
            first.publish(subjects.telemetry("p", model), e, msg_id=rid)
        assert not await first.flush(0.3)  # NATS is down: nothing can be acknowledged
        await first.close(0.1)  # the process stops; what was not sent stays on disk
        assert first.stats.spooled == 30 and first.stats.published == 0
        nats.start()
        await eventually(lambda: nc.is_connected, what="reconnect")
        second = EventPublisher(nc=nc, logger=logger, spool=EventSpool(spool_path), retry_interval_s=0.05)
        second.start()
        assert await second.flush(20)
        await second.close()
        assert second.stats.replayed == 30
        sub = await nc.jetstream().subscribe(subjects.telemetry("p", model), ordered_consumer=True)
        got = []
        while len(got) < 30:
            msg = await sub.next_msg(timeout=5)
            got.append(msgspec.json.decode(msg.data, type=TelemetryEvent).request_id)
        assert got == ids
    finally:
        await nc.close()
        nats.stop()


async def test_full_spool_counts_dropped_events(tmp_path: Path) -> None:
    nats = NatsServer(data_dir=tmp_path / "nats" / "data", name="nats-full")
    nats.start()
    logger = get_logger("spool-test")
    nc = await connect([nats.url], logger, name="spool-full")
    try:
        nats.stop()
        await eventually(lambda: not nc.is_connected, what="disconnect")
        publisher = EventPublisher(
            nc=nc, logger=logger, spool=EventSpool(tmp_path / "full.spool", max_bytes=1000), retry_interval_s=0.05
        )
        publisher.start()
        for i in range(100):
            publisher.enqueue_raw("bourse.telemetry.p.m", b"x" * 50, f"id-{i}")
        await eventually(lambda: publisher.stats.spooled + publisher.stats.dropped == 100, what="spill")
        assert publisher.stats.dropped > 0 and publisher.stats.spooled > 0
        await publisher.close(0.1)
    finally:
        await nc.close()


async def test_publishing_on_a_closed_connection_keeps_events_and_never_hangs(nats_url: str) -> None:
    logger = get_logger("spool-test")
    nc = await connect([nats_url], logger, name="closed")
    await nc.close()
    publisher = EventPublisher(nc=nc, logger=logger, retry_interval_s=0.02)
    publisher.start()
    for i in range(3):
        publisher.enqueue_raw("bourse.telemetry.p.m", b"{}", f"closed-{i}")
    await eventually(lambda: publisher.stats.failed_attempts >= 6, what="repeated failed attempts")
    assert not await publisher.flush(0.1)
    assert publisher.stats.published == 0 and publisher.stats.backlog == 3
    await publisher.close(0.1)
