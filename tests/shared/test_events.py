"""Subjects escape names reversibly; the publisher delivers through real JetStream, in order, deduplicated."""

from __future__ import annotations

import uuid

import msgspec
from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client as NATS

from shared.events import streams, subjects
from shared.events.publisher import EventPublisher
from shared.events.schemas import TelemetryEvent
from shared.logging import get_logger


@given(st.text(min_size=1, max_size=40))
def test_subject_token_round_trips_and_is_one_token(name: str) -> None:
    tok = subjects.token(name)
    assert subjects.untoken(tok) == name
    assert "." not in tok and "*" not in tok and ">" not in tok and " " not in tok


def test_model_names_with_dots_stay_one_token() -> None:
    assert subjects.telemetry("openai", "gpt-4.1-mini") == "bourse.telemetry.openai.gpt-4%2E1-mini"


async def test_publisher_delivers_in_order_and_dedups(nc: NATS) -> None:
    js = nc.jetstream()
    await streams.ensure_streams(js)
    await streams.ensure_streams(js)  # idempotent
    model = f"m-{uuid.uuid4().hex[:8]}"
    publisher = EventPublisher(nc=nc, logger=get_logger("test"))
    publisher.start()
    ids = [uuid.uuid4().hex for _ in range(50)]
    for rid in [*ids, ids[0], ids[1]]:  # two replays of the same request ids
        event = TelemetryEvent(
            request_id=rid, ts_ms=1, tenant="t", task_kind="chat", provider="p", model=model, served_from="remote"
        )
        publisher.publish(subjects.telemetry("p", model), event, msg_id=rid)
    assert await publisher.flush(10)
    await publisher.close()
    sub = await js.subscribe(subjects.telemetry("p", model), ordered_consumer=True)
    got = []
    while True:
        try:
            msg = await sub.next_msg(timeout=0.5)
        except TimeoutError:
            break
        got.append(msgspec.json.decode(msg.data, type=TelemetryEvent).request_id)
    assert got == ids
    assert publisher.stats.published == 52 and publisher.stats.dropped == 0


def test_empty_and_underscore_names_stay_distinct() -> None:
    assert subjects.token("") == "_" and subjects.untoken("_") == ""
    assert subjects.untoken(subjects.token("_")) == "_"
