"""Retry-After shared across router replicas, as real processes on a 3-node NATS cluster (each router on its own
node): the cheapest model answers 429 with Retry-After to a request through router A; router B stops sending to it
within the window without ever being told "429" itself, and both go back to it after the window."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from shared.serving import insecure_channel
from tests.router.faults import inject, requests_to
from tests.scale.replicas import ReplicaStack
from tests.support.eventually import eventually
from tests.support.requests import route

pytestmark = [pytest.mark.slow, pytest.mark.model]  # the stack's cache loads the converted MiniLM encoder

RETRY_AFTER_S = 4.0
WAIT_S = 20.0
NO_CACHE = pb.CachePolicy(no_cache=True, no_store=True)


@pytest.fixture(scope="module")
async def replicas(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReplicaStack]:
    stack = ReplicaStack(Path(tmp_path_factory.mktemp("shared-backoff")))
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()


def fresh() -> pb.RouteRequest:
    request = route(f"Say hello. [{uuid.uuid4().hex[:6]}]", max_tokens=16)
    request.constraints.MergeFrom(pb.RoutingConstraints(cache=NO_CACHE))
    return request


async def available(stub: router_grpc.RouterServiceStub, model: str) -> bool:
    listed: pb.ListModelsResponse = await stub.ListModels(pb.ListModelsRequest(), timeout=10)
    return next(m for m in listed.models if m.model == model).available


async def test_retry_after_seen_by_one_router_keeps_both_away(replicas: ReplicaStack) -> None:
    async with (
        insecure_channel(replicas.router_listens[0]) as channel_a,
        insecure_channel(replicas.router_listens[1]) as channel_b,
        aiohttp.ClientSession(base_url=replicas.sim_url) as sim,
    ):
        router_a = router_grpc.RouterServiceStub(channel_a)  # type: ignore[no-untyped-call]
        router_b = router_grpc.RouterServiceStub(channel_b)  # type: ignore[no-untyped-call]
        first: pb.RouteResponse = await router_b.Route(fresh(), timeout=30)
        cheapest = (first.provider, first.model)
        second: pb.RouteResponse = await router_a.Route(fresh(), timeout=30)
        assert (second.provider, second.model) == cheapest  # both routers agree on the cheapest model

        # rate limited briefly, asking for RETRY_AFTER_S: only router A ever sees the 429
        fault = {"provider": cheapest[0], "model": cheapest[1], "duration_s": 0.5, "retry_after_s": RETRY_AFTER_S}
        await inject(sim, kind="rate_limit", **fault)
        limited: pb.RouteResponse = await router_a.Route(fresh(), timeout=30)
        assert (limited.attempts[0].model, limited.attempts[0].error_reason) == (cheapest[1], "RATE_LIMITED")
        assert limited.model != cheapest[1]

        async def b_learnt() -> bool:  # the news crosses the NATS cluster (node 0 to node 1)
            return not await available(router_b, cheapest[1])

        await eventually(b_learnt, timeout_s=WAIT_S, what="router B to learn router A's Retry-After")
        tried = await requests_to(sim, *cheapest)
        during: pb.RouteResponse = await router_b.Route(fresh(), timeout=30)
        assert during.model != cheapest[1]
        assert all(a.model != cheapest[1] for a in during.attempts)  # B kept away without a 429 of its own
        assert await requests_to(sim, *cheapest) == tried

        # after the window both routers go back to the cheapest model (a paced client; ends on the condition)
        for stub in (router_a, router_b):

            async def back_to_cheapest(stub: router_grpc.RouterServiceStub = stub) -> bool:
                return (await stub.Route(fresh(), timeout=30)).model == cheapest[1]

            await eventually(
                back_to_cheapest,
                timeout_s=RETRY_AFTER_S + WAIT_S,
                interval_s=0.2,
                what="a router to go back to the cheapest model",
            )
