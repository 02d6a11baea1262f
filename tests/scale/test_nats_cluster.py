"""A 3-node NATS cluster on loopback: replicated streams survive the loss of a node and the node rejoins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import nats
import nats.errors
import nats.js.api as js_api
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from shared.events import streams, subjects
from shared.events.connect import connect
from shared.events.publisher import EventPublisher
from shared.events.schemas import TelemetryEvent
from shared.logging import get_logger
from tests.scale.cluster import NatsCluster, create_replicated_streams, wait_replicas_current
from tests.support.eventually import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NatsCluster]:
    nodes = NatsCluster.create(Path(tmp_path_factory.mktemp("nats-cluster")))
    try:
        nodes.start()
        await nodes.wait_jetstream()
        yield nodes
    finally:
        nodes.stop()


async def stored_request_ids(nc: NATS, model: str, timeout_s: float = 30.0) -> set[str]:
    """Every telemetry request id stored for `model` (retried while the cluster settles after the node loss)."""
    ids: set[str] | None = None

    async def read() -> bool:
        nonlocal ids
        ids = await _stored_request_ids(nc, model)
        return True

    await eventually(
        read,
        timeout_s=timeout_s,
        interval_s=0.2,
        what=f"the telemetry of {model} to be readable",
        retry_on=(nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError),
    )
    assert ids is not None
    return ids


async def _stored_request_ids(nc: NATS, model: str) -> set[str]:
    js = nc.jetstream()
    info = await js.stream_info(streams.TELEMETRY.name, subjects_filter=subjects.telemetry("p", model))
    expected = sum((info.state.subjects or {}).values())
    seen: set[str] = set()
    sub = await js.subscribe(
        subjects.telemetry("p", model), ordered_consumer=True, deliver_policy=js_api.DeliverPolicy.ALL
    )
    try:
        while len(seen) < expected:
            message = await sub.next_msg(timeout=5)
            seen.add(msgspec.json.decode(message.data, type=TelemetryEvent).request_id)
    finally:
        await sub.unsubscribe()
    return seen


def event(request_id: str, model: str) -> TelemetryEvent:
    return TelemetryEvent(
        request_id=request_id, ts_ms=1, tenant="t", task_kind="chat", provider="p", model=model, served_from="remote"
    )


async def test_streams_keep_their_replicas_when_a_service_ensures_them_again(cluster: NatsCluster) -> None:
    nc = await nats.connect(servers=cluster.urls)
    try:
        js = nc.jetstream()
        await create_replicated_streams(js, replicas=3)
        await streams.ensure_streams(js)  # what every service does at start, with the default of 1
        for spec in streams.ALL:
            info = await js.stream_info(spec.name)
            assert info.config.num_replicas == 3, spec.name
    finally:
        await nc.close()


async def test_losing_a_node_loses_no_event_and_the_node_rejoins(cluster: NatsCluster) -> None:
    logger = get_logger("test")
    nc = await connect([cluster.urls[0]], logger, name="bourse-test-publisher")  # learns the others from node 0
    js = nc.jetstream()
    await create_replicated_streams(js, replicas=3)
    publisher = EventPublisher(nc=nc, logger=logger)
    publisher.start()
    model = f"m-{uuid.uuid4().hex[:8]}"
    sent: list[str] = []

    async def publish(count: int) -> None:
        for _ in range(count):
            request_id = uuid.uuid4().hex
            publisher.publish(subjects.telemetry("p", model), event(request_id, model), msg_id=request_id)
            sent.append(request_id)
            await asyncio.sleep(0)

    try:
        await publish(200)
        victim = cluster.nodes[0]  # the node the publisher is connected to
        victim.kill()
        await publish(200)  # buffered while the client moves to another node
        reader = await nats.connect(servers=[cluster.urls[1]])
        try:
            await wait_until(lambda: stored_count(reader, model), len(sent))
            assert await stored_request_ids(reader, model) == set(sent)
            victim.start()  # same data directory and ports: it rejoins the cluster
            info = await wait_replicas_current(reader.jetstream(), streams.TELEMETRY.name, expected=3)
            assert info.state.messages >= len(sent)
        finally:
            await reader.close()
    finally:
        await publisher.close()
        await nc.close()


async def stored_count(nc: NATS, model: str) -> int:
    """Events stored for `model`; 0 while the stream elects a new leader after the node loss."""
    try:
        info = await nc.jetstream().stream_info(streams.TELEMETRY.name, subjects_filter=subjects.telemetry("p", model))
    except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
        return 0
    return sum((info.state.subjects or {}).values())


async def wait_until(count: object, expected: int, timeout_s: float = 30.0) -> None:
    last = -1

    async def enough() -> bool:
        nonlocal last
        last = await count()  # type: ignore[operator]
        return last >= expected

    await eventually(
        enough, timeout_s=timeout_s, interval_s=0.1, what=lambda: f"{expected} events stored, {last} so far"
    )
