"""Two routers, two provider-adapters, a cache and the simulator on a 3-node NATS cluster, all real processes.

Checks, in order (one stack for the module; the destructive checks come last and restore what they break):
a price update reaches both routers and both route alike; a budget enforced by both replicas is never overspent;
killing a router mid-load loses no client request and no telemetry; killing a NATS node keeps JetStream serving
with nothing lost, and the node rejoins when restarted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import msgspec
import nats
import nats.js.api as js_api
import nats.js.errors
import pytest
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc
from nats.aio.client import Client as NATS

from shared.events import streams, subjects
from shared.events.schemas import PriceUpdate, TelemetryEvent
from shared.serving import insecure_channel
from tests.scale.cluster import wait_replicas_current
from tests.scale.replicas import BUDGET_BUCKET, ReplicaStack
from tests.support.eventually import eventually
from tests.support.requests import route

pytestmark = [pytest.mark.slow, pytest.mark.model]  # the cache loads the converted MiniLM encoder

SPEND_TENANT = "spend-capped"
CONTENDED_TENANT = "spend-contended"
SPEND_LIMIT_MICRO_USD = 5_000  # about seven answers of the priciest model in the manifest (Opus 5.5, 4 / 20 USD)
PRICEY_MODEL = "anthropic/claude-opus-5-5"
RATE_TENANT = "rate-capped"
RATE_LIMIT_PER_MINUTE = 12
CONTENDED_RATE_TENANT = "rate-contended"
CONTENDED_RATE_LIMIT_PER_MINUTE = 100  # more winners than the old 64-try compare-and-set loop could wait for
NO_CACHE = pb.CachePolicy(no_cache=True, no_store=True)


@pytest.fixture(scope="module")
async def replicas(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReplicaStack]:
    stack = ReplicaStack(
        Path(tmp_path_factory.mktemp("replicas")),
        budgets=[
            {"tenant": SPEND_TENANT, "daily_micro_usd": SPEND_LIMIT_MICRO_USD},
            {"tenant": CONTENDED_TENANT, "daily_micro_usd": SPEND_LIMIT_MICRO_USD},
            {"tenant": RATE_TENANT, "requests_per_minute": RATE_LIMIT_PER_MINUTE},
            {"tenant": CONTENDED_RATE_TENANT, "requests_per_minute": CONTENDED_RATE_LIMIT_PER_MINUTE},
        ],
    )
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
async def balanced(replicas: ReplicaStack) -> AsyncIterator[router_grpc.RouterServiceStub]:
    """A client of both routers: round_robin, UNAVAILABLE retried on the other replica."""
    async with insecure_channel(replicas.router_target, max_attempts=5, health_checked=True) as channel:
        yield router_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]


@pytest.fixture
async def nc(replicas: ReplicaStack) -> AsyncIterator[NATS]:
    client = await nats.connect(servers=replicas.cluster.urls[1:])  # nodes 1 and 2 stay up in every test
    yield client
    await client.close()


def fresh(text: str, *, tenant: str, **constraints: object) -> pb.RouteRequest:
    request = route(f"{text} [{uuid.uuid4().hex[:6]}]", tenant=tenant, max_tokens=32)
    request.constraints.MergeFrom(pb.RoutingConstraints(cache=NO_CACHE, **constraints))  # type: ignore[arg-type]
    return request


async def telemetry_ids(nc: NATS, since_s: float) -> set[str]:
    """Client request ids of every telemetry event stored since `since_s` (each test request has its own; the
    router keys events by an id of its own); empty while the stream elects a leader."""
    try:
        return await _telemetry_ids(nc, since_s)
    except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
        return set()


async def _telemetry_ids(nc: NATS, since_s: float) -> set[str]:
    js = nc.jetstream()
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since_s - 1)) + "Z"
    info = await js.stream_info(streams.TELEMETRY.name)
    sub = await js.subscribe(
        f"{subjects.TELEMETRY_PREFIX}.>",
        ordered_consumer=True,
        config=js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.BY_START_TIME, opt_start_time=start),
    )
    ids: set[str] = set()
    try:
        while True:
            try:
                message = await sub.next_msg(timeout=2)
            except nats.errors.TimeoutError:
                break
            ids.add(msgspec.json.decode(message.data, type=TelemetryEvent).client_request_id)
            if message.metadata.sequence.stream >= info.state.last_seq:
                break
    finally:
        await sub.unsubscribe()
    return ids


async def wait_telemetry(nc: NATS, since_s: float, expected: set[str], timeout_s: float = 30.0) -> set[str]:
    stored: set[str] = set()

    async def complete() -> set[str]:
        nonlocal stored
        stored = await telemetry_ids(nc, since_s)
        return stored if expected <= stored else set()

    return await eventually(
        complete,
        timeout_s=timeout_s,
        interval_s=0.5,
        what=lambda: f"{len(expected - stored)} telemetry events still missing",
    )


async def run_load(
    stub: router_grpc.RouterServiceStub, requests: list[pb.RouteRequest], concurrency: int
) -> tuple[list[pb.RouteResponse], list[grpc.aio.AioRpcError]]:
    queue = list(reversed(requests))
    answers: list[pb.RouteResponse] = []
    errors: list[grpc.aio.AioRpcError] = []

    async def worker() -> None:
        while queue:
            request = queue.pop()
            try:
                # wait_for_ready: while every replica is momentarily unreachable (one killed, the other just
                # restarted and not yet reconnected) the call waits for a ready one instead of failing fast.
                answers.append(await stub.Route(request, timeout=30, wait_for_ready=True))
            except grpc.aio.AioRpcError as error:
                errors.append(error)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answers, errors


# --- checks ----------------------------------------------------------------------------------------------------


async def test_a_price_update_reaches_both_routers_and_they_route_alike(replicas: ReplicaStack, nc: NATS) -> None:
    stubs = []
    for listen in replicas.router_listens:
        channel = insecure_channel(listen)
        stubs.append((channel, router_grpc.RouterServiceStub(channel)))  # type: ignore[no-untyped-call]
    try:
        probe = fresh("Write a haiku about routers.", tenant="price-check")
        explain = pb.ExplainRequest(chat=probe.chat, constraints=probe.constraints, context=probe.context)
        before = await stubs[0][1].Explain(explain, timeout=10)
        cheapest, runner_up = before.candidates[0], before.candidates[1]
        # Make the runner-up far cheaper than the cheapest: both replicas must switch to it.
        update = PriceUpdate(
            provider=runner_up.provider,
            model=runner_up.model,
            input_per_mtok=0.001,
            output_per_mtok=0.001,
            source="scale-test",
            allow_large_change=True,
        )
        await nc.jetstream().publish(subjects.pricing(runner_up.provider, runner_up.model), msgspec.json.encode(update))
        for _, stub in stubs:
            await wait_for_first_candidate(stub, explain, (runner_up.provider, runner_up.model))
        chosen = set()
        for _, stub in stubs:
            reply = await stub.Route(fresh("Write a haiku about routers.", tenant="price-check"), timeout=30)
            chosen.add((reply.provider, reply.model))
        assert chosen == {(runner_up.provider, runner_up.model)}
        assert (cheapest.provider, cheapest.model) != (runner_up.provider, runner_up.model)
    finally:
        for channel, _ in stubs:
            await channel.close()


async def wait_for_first_candidate(
    stub: router_grpc.RouterServiceStub, explain: pb.ExplainRequest, expected: tuple[str, str], timeout_s: float = 20
) -> None:
    first: tuple[str, str] | None = None

    async def ranked_first() -> bool:
        nonlocal first
        reply = await stub.Explain(explain, timeout=10)
        first = (reply.candidates[0].provider, reply.candidates[0].model)
        return first == expected

    await eventually(
        ranked_first, timeout_s=timeout_s, interval_s=0.1, what=lambda: f"{expected} ranked first, not {first}"
    )


def spend_key(tenant: str) -> str:
    return f"spend.{tenant}._.{time.strftime('%Y-%m-%d', time.gmtime())}"


async def test_a_spend_budget_is_never_overspent_across_replicas(
    balanced: router_grpc.RouterServiceStub, nc: NATS
) -> None:
    # No counter exists yet: both replicas race to create it, then to update it (compare-and-set).
    await check_spend_budget(balanced, nc, SPEND_TENANT, concurrency=12)


async def test_a_spend_budget_under_heavy_contention_fails_no_request(
    balanced: router_grpc.RouterServiceStub, nc: NATS
) -> None:
    await check_spend_budget(balanced, nc, CONTENDED_TENANT, concurrency=24)


def describe(errors: list[grpc.aio.AioRpcError]) -> list[str]:
    return sorted({f"{error.code().name}: {error.details()}" for error in errors})


async def check_spend_budget(balanced: router_grpc.RouterServiceStub, nc: NATS, tenant: str, concurrency: int) -> None:
    requests = [
        fresh("Explain JetStream in three paragraphs.", tenant=tenant, allowed_models=[PRICEY_MODEL]) for _ in range(40)
    ]
    answers, errors = await run_load(balanced, requests, concurrency=concurrency)
    spent = sum(answer.cost_micro_usd for answer in answers)
    assert answers, "no request was admitted"
    assert errors, "the limit was never reached: raise the load or lower the limit"
    assert {error.code() for error in errors} == {grpc.StatusCode.RESOURCE_EXHAUSTED}, describe(errors)
    assert spent <= SPEND_LIMIT_MICRO_USD
    # Both replicas settle into one counter with compare-and-set: once every settlement has landed (they run
    # after the answer is sent), the counter holds exactly what was spent; a lost update would leave it off.
    kv = await nc.jetstream().key_value(BUDGET_BUCKET)
    key = spend_key(tenant)
    counter = -1

    async def settled() -> bool:
        nonlocal counter
        counter = int((await kv.get(key)).value or b"0")
        return counter == spent

    await eventually(settled, timeout_s=15, interval_s=0.1, what=lambda: f"counter {counter} to reach {spent}")
    assert counter == spent


async def test_a_rate_limit_admits_exactly_its_count_across_replicas(
    balanced: router_grpc.RouterServiceStub, nc: NATS
) -> None:
    await check_rate_limit(balanced, RATE_TENANT, RATE_LIMIT_PER_MINUTE, concurrency=24)


async def test_a_rate_limit_under_heavy_contention_fails_no_request(
    balanced: router_grpc.RouterServiceStub, nc: NATS
) -> None:
    # 150 requests at once race for 100 slots of one new counter: the last winners lose the race ~100 times.
    await check_rate_limit(balanced, CONTENDED_RATE_TENANT, CONTENDED_RATE_LIMIT_PER_MINUTE, concurrency=150)


async def check_rate_limit(balanced: router_grpc.RouterServiceStub, tenant: str, limit: int, concurrency: int) -> None:
    # The counter is per minute: start early in a minute so the burst cannot straddle two.
    await eventually(
        lambda: time.gmtime().tm_sec <= 30, timeout_s=61, interval_s=0.5, what="the first half of a minute"
    )
    # The minute's counter is new: the first requests on both replicas race to create it.
    requests = [fresh("Say hi.", tenant=tenant) for _ in range(limit + limit // 2)]
    answers, errors = await run_load(balanced, requests, concurrency=concurrency)
    assert {error.code() for error in errors} == {grpc.StatusCode.RESOURCE_EXHAUSTED}, describe(errors)
    assert len(answers) == limit


async def test_killing_a_router_mid_load_loses_no_request_and_no_telemetry(
    replicas: ReplicaStack, balanced: router_grpc.RouterServiceStub, nc: NATS
) -> None:
    since = time.time()
    requests = [fresh("Summarise the news.", tenant="load") for _ in range(150)]
    load = asyncio.ensure_future(run_load(balanced, requests, concurrency=8))
    await wait_for_progress(requests, load, nc, since, at_least=30)
    replicas.routers[0].stop()  # SIGTERM: what Kubernetes sends; the router drains in-flight calls
    answers, errors = await load
    assert errors == []
    assert len(answers) == len(requests)
    ids = {request.context.request_id for request in requests}
    assert {answer.client_request_id for answer in answers} == ids
    stored = await wait_telemetry(nc, since, ids)
    assert ids <= stored, f"{len(ids - stored)} telemetry events lost"
    await replicas.restart_router(0)


async def test_a_router_killed_outright_loses_no_client_request(
    replicas: ReplicaStack, balanced: router_grpc.RouterServiceStub, nc: NATS
) -> None:
    # SIGKILL: calls in flight on that router fail with UNAVAILABLE (connection lost) and the channel's retry
    # policy sends them to the other replica. Telemetry of answers the dead process had not yet published is
    # the one thing that can be lost this way (the publisher is asynchronous), so only requests are checked.
    since = time.time()
    requests = [fresh("Name three rivers.", tenant="load") for _ in range(150)]
    load = asyncio.ensure_future(run_load(balanced, requests, concurrency=8))
    await wait_for_progress(requests, load, nc, since, at_least=30)
    replicas.routers[1].kill()
    answers, errors = await load
    assert errors == []
    assert {answer.client_request_id for answer in answers} == {request.context.request_id for request in requests}
    await replicas.restart_router(1)


async def wait_for_progress(
    requests: list[pb.RouteRequest], load: asyncio.Future[Any], nc: NATS, since: float, at_least: int
) -> None:
    ids = {request.context.request_id for request in requests}

    async def progressed() -> bool:
        assert not load.done(), "the load finished before the fault was injected"
        return len(await telemetry_ids(nc, since) & ids) >= at_least

    await eventually(progressed, timeout_s=60, interval_s=0.2, what="the load to make progress")


async def test_killing_a_nats_node_loses_nothing_and_it_rejoins(
    replicas: ReplicaStack, balanced: router_grpc.RouterServiceStub, nc: NATS
) -> None:
    since = time.time()
    requests = [fresh("Translate hello.", tenant="load") for _ in range(120)]
    load = asyncio.ensure_future(run_load(balanced, requests, concurrency=8))
    await wait_for_progress(requests, load, nc, since, at_least=20)
    victim = replicas.cluster.nodes[0]  # router-0's server: it must move to another node
    victim.kill()
    answers, errors = await load
    assert errors == []
    assert len(answers) == len(requests)
    ids = {request.context.request_id for request in requests}
    stored = await wait_telemetry(nc, since, ids)
    assert ids <= stored, f"{len(ids - stored)} telemetry events lost"
    victim.start()
    for spec in streams.ALL:
        await wait_replicas_current(nc.jetstream(), spec.name, expected=3)
