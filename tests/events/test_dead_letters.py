"""Events that can never be published go to BOURSE_DEAD_LETTER with their reason and never block the events behind
them: in the publisher's memory queue, in its on-disk spool, and for sizes nats-server would close the client for."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import nats.errors
import structlog
from nats.aio.client import Client as NATS

from shared.events import streams, subjects
from shared.events.dead_letters import (
    BYTES_HEADER,
    MAX_BODY_BYTES,
    REASON_HEADER,
    TRUNCATED_HEADER,
    dead_letter,
    problem,
)
from shared.events.publisher import EventPublisher
from shared.events.schemas import CostEvent
from shared.events.spool import EventSpool, SpooledEvent
from tests.support.dead_letters import wait_dead_letters
from tests.support.eventually import eventually

LOG = structlog.get_logger("test-dead-letters")
_encode = msgspec.json.Encoder().encode


def _cost(tenant: str, padding: int = 0) -> CostEvent:
    return CostEvent(
        request_id=uuid.uuid4().hex,
        ts_ms=1,
        tenant=tenant,
        key_id="k" * padding,
        provider="p",
        model="m",
        served_from="remote",
        task_kind="chat",
    )


async def _stored_ids(nc: NATS, tenant: str) -> set[str]:
    sub = await nc.jetstream().subscribe(subjects.cost(tenant), ordered_consumer=True)
    ids: set[str] = set()
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return ids
            ids.add(msgspec.json.decode(msg.data, type=CostEvent).request_id)
    finally:
        await sub.unsubscribe()


async def _wait_stored(nc: NATS, tenant: str, want: set[str]) -> None:
    async def all_there() -> bool:
        return want <= await _stored_ids(nc, tenant)

    await eventually(all_there, timeout_s=20, what=f"{len(want)} events of {tenant} in JetStream")


async def test_an_oversized_event_is_dead_lettered_and_the_queue_moves_on(nc: NATS) -> None:
    await streams.ensure_streams(nc.jetstream())
    reasons: list[str] = []
    publisher = EventPublisher(nc=nc, logger=LOG, retry_interval_s=0.05, on_dead_letter=reasons.append)
    publisher.start()
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    try:
        huge = _cost(tenant, padding=2 * 1024 * 1024)  # over NATS's 1 MiB max_payload
        publisher.publish(subjects.cost(tenant), huge, msg_id=huge.request_id)
        after = [_cost(tenant) for _ in range(5)]
        for e in after:
            publisher.publish(subjects.cost(tenant), e, msg_id=e.request_id)
        await _wait_stored(nc, tenant, {e.request_id for e in after})
        [letter] = await wait_dead_letters(nc, subjects.cost(tenant))
    finally:
        await publisher.close()
    assert letter.headers is not None
    assert letter.headers[REASON_HEADER] == "payload_too_large"
    assert letter.headers[TRUNCATED_HEADER] == "true" and len(letter.data) == MAX_BODY_BYTES
    assert int(letter.headers[BYTES_HEADER]) > 2 * 1024 * 1024
    assert reasons == ["payload_too_large"] and publisher.stats.dead_lettered == 1


async def test_a_subject_nats_would_close_the_client_for_is_dead_lettered_and_the_client_stays(nc: NATS) -> None:
    await streams.ensure_streams(nc.jetstream())
    publisher = EventPublisher(nc=nc, logger=LOG, retry_interval_s=0.05)
    publisher.start()
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex
    try:
        long_subject = f"bourse.telemetry.{marker}." + "x" * 5000
        publisher.enqueue_raw(long_subject, b"{}", msg_id=uuid.uuid4().hex)
        publisher.enqueue_raw(subjects.cost(tenant), b"{}", msg_id="bad\r\nNats-Expected-Stream: X")
        follower = _cost(tenant)
        publisher.publish(subjects.cost(tenant), follower, msg_id=follower.request_id)
        await _wait_stored(nc, tenant, {follower.request_id})
        [too_long] = await wait_dead_letters(nc, marker)
        [bad_id] = await wait_dead_letters(nc, subjects.cost(tenant))
    finally:
        await publisher.close()
    assert too_long.headers is not None and too_long.headers[REASON_HEADER] == "subject_too_long"
    assert too_long.subject == subjects.dead_letter("telemetry")
    assert bad_id.headers is not None and bad_id.headers[REASON_HEADER] == "msg_id_invalid"
    assert nc.is_connected and not nc.is_closed


async def test_the_spool_drains_past_a_poison_event(nc: NATS, tmp_path: Path) -> None:
    await streams.ensure_streams(nc.jetstream())
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    spool = EventSpool(tmp_path / "events.spool", max_bytes=64 * 1024 * 1024, fsync=False)
    huge = _cost(tenant, padding=2 * 1024 * 1024)
    behind = [_cost(tenant) for _ in range(90)]
    records = [SpooledEvent(subjects.cost(tenant), _encode(huge), huge.request_id)]
    records += [SpooledEvent(subjects.cost(tenant), _encode(e), e.request_id) for e in behind]
    assert spool.append(records) == 91  # as a router left it: the poison first, 90 events behind it
    publisher = EventPublisher(nc=nc, logger=LOG, spool=spool, retry_interval_s=0.05)
    publisher.start()
    try:
        await _wait_stored(nc, tenant, {e.request_id for e in behind})
        await eventually(lambda: not spool.pending, timeout_s=10, what="the spool drained")
        [letter] = await wait_dead_letters(nc, subjects.cost(tenant))
    finally:
        await publisher.close()
    assert letter.headers is not None and letter.headers[REASON_HEADER] == "payload_too_large"
    assert publisher.stats.dead_lettered == 1 and publisher.stats.replayed == 91


def test_the_checks_name_each_problem() -> None:
    assert problem("bourse.cost.a", b"{}", "id", max_payload=1024 * 1024) is None
    assert problem("bourse.cost." + "a" * 2000, b"{}", "id", 0) is not None
    assert problem("bourse.cost.a", b"x" * (600 * 1024), "id", 0) is not None  # over the 512 KiB event bound
    assert problem("bourse.cost.a", b"x" * 2048, "id", max_payload=1024) is not None  # over the server's limit
    assert problem("bourse.cost.a", b"{}", "a\nb", 0) is not None
    letter = dead_letter("odd subject\r\n", b"{}", "id\n", *problem("bourse.cost.a", b"{}", "a\nb", 0))  # type: ignore[misc]
    assert letter.subject == subjects.dead_letter("unknown")
    assert all(ch not in value for value in letter.headers.values() for ch in "\r\n")
