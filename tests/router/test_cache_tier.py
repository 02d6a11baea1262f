"""The cache tier over a real cache service (real MiniLM encoder): consulted before remote models, stores
after a remote answer without making the request wait, hits cost 0 and report what they saved; a cache that
is down is skipped, never an error."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc
from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from nats.aio.client import Client as NATS

from services.cache.config import CacheConfig
from services.router.core.execution.tiers import cache_miss_reason
from shared.embedding.convert import ensure_minilm
from shared.error_catalogue import Group, Reason
from shared.events import subjects
from shared.events.schemas import TelemetryEvent
from shared.processes import free_port
from tests.support.eventually import eventually
from tests.support.requests import route
from tests.support.services import LOOPBACK_ANY_PORT, Services


@pytest.fixture(scope="module")
def cache_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache-models")
    ensure_minilm(root)
    return root


@pytest.fixture
async def cache(
    nats_url: str, cache_models: Path, tmp_path: Path, services: Services
) -> tuple[str, cache_grpc.CacheServiceStub]:
    config = CacheConfig(
        listen=LOOPBACK_ANY_PORT,
        nats_url=nats_url,
        models_dir=str(cache_models),
        data_dir=str(tmp_path / "cache"),
        replication=False,
        replica_id=uuid.uuid4().hex[:8],
    )
    service = await services.cache(config)
    target = f"127.0.0.1:{service.service.port}"
    return target, cache_grpc.CacheServiceStub(services.channel(target))


def _deterministic(tenant: str, text: str = "How do I reset my password?") -> pb.RouteRequest:
    request = route(text, tenant=tenant)
    request.chat.sampling.temperature = 0.0
    return request


async def _wait_entries(stub: cache_grpc.CacheServiceStub, want: int) -> None:
    async def stored() -> bool:
        return (await stub.Stats(cache_pb.StatsRequest())).entries >= want

    await eventually(stored, timeout_s=10, what="the answer to be stored")


async def test_second_identical_request_is_a_cache_hit(make_router, cache, nc: NATS) -> None:
    target, cache_stub = cache
    stub, _ = await make_router(cache_target=target, cache_deadline_ms=2000)  # generous: the machine is shared
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    first: pb.RouteResponse = await stub.Route(_deterministic(tenant), timeout=10)
    assert first.served_from == routing_pb2.SERVED_FROM_REMOTE
    assert [a.outcome for a in first.attempts] == [pb.ATTEMPT_OUTCOME_MISS, pb.ATTEMPT_OUTCOME_SUCCESS]
    assert first.attempts[0].error_reason == "CACHE_NO_ENTRIES"  # the cache's semantic decision rides along
    await _wait_entries(cache_stub, 1)

    request = _deterministic(tenant)
    second: pb.RouteResponse = await stub.Route(request, timeout=10)
    assert second.served_from == routing_pb2.SERVED_FROM_CACHE
    assert second.completion.content == first.completion.content
    assert second.cost_micro_usd == 0 and second.saved_micro_usd == first.cost_micro_usd > 0
    assert [(a.provider, a.outcome) for a in second.attempts] == [("cache", pb.ATTEMPT_OUTCOME_SUCCESS)]

    sub = await nc.jetstream().subscribe(subjects.telemetry("cache", first.model), ordered_consumer=True)
    while True:
        event = msgspec.json.decode((await sub.next_msg(timeout=5)).data, type=TelemetryEvent)
        if event.request_id == second.request_id:
            break
    await sub.unsubscribe()
    assert (event.served_from, event.cost_micro_usd, event.saved_micro_usd) == ("cache", 0, first.cost_micro_usd)

    other_tenant: pb.RouteResponse = await stub.Route(_deterministic(f"t-{uuid.uuid4().hex[:8]}"), timeout=10)
    assert other_tenant.served_from == routing_pb2.SERVED_FROM_REMOTE  # entries never cross tenants


async def test_a_refused_look_alike_reports_the_verifiers_reason(make_router, cache) -> None:
    target, cache_stub = cache
    stub, _ = await make_router(cache_target=target, cache_deadline_ms=2000)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    await stub.Route(_deterministic(tenant, "Should I buy the shares now?"), timeout=10)
    await _wait_entries(cache_stub, 1)
    response: pb.RouteResponse = await stub.Route(_deterministic(tenant, "Should I sell the shares now?"), timeout=10)
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE
    assert [a.outcome for a in response.attempts] == [pb.ATTEMPT_OUTCOME_MISS, pb.ATTEMPT_OUTCOME_SUCCESS]
    assert response.attempts[0].error_reason == Reason.CACHE_EXCHANGED_WORD


@pytest.mark.parametrize(
    "decision_reason",
    # Every reason the cache's semantic decision gives for a miss (services/cache/core: cache, verifier, exact_terms)
    [
        "no_entries", "semantic_off", "too_long", "below_threshold", "ambiguous", "classifier", "numbers", "emails",
        "identifiers", "negation", "names", "quoted", "operand_order", "name_order", "reversed_relation",
        "exchanged_word", "reordered", "reworded", "stored_more_specific",
    ],
)  # fmt: skip
def test_every_cache_miss_reason_is_its_own_catalogue_entry(decision_reason: str) -> None:
    reason = cache_miss_reason(decision_reason)
    assert reason is Reason[f"CACHE_{decision_reason.upper()}"] and reason.group is Group.CACHE


def test_a_cache_reason_this_router_does_not_know_is_a_plain_cache_miss() -> None:
    assert cache_miss_reason("some_newer_rule") is Reason.CACHE_MISS
    assert cache_miss_reason("budget_exceeded") is Reason.CACHE_MISS  # never a reason outside the cache's group


async def test_no_store_and_no_cache_are_honoured(make_router, cache) -> None:
    target, cache_stub = cache
    stub, _ = await make_router(cache_target=target, cache_deadline_ms=2000)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    request = _deterministic(tenant, "What are your opening hours?")
    request.constraints.cache.no_store = True
    await stub.Route(request, timeout=10)
    stored = _deterministic(tenant, "Where is my order?")
    await stub.Route(stored, timeout=10)
    await _wait_entries(cache_stub, 1)
    assert (await cache_stub.Stats(cache_pb.StatsRequest())).entries == 1  # only the second was stored
    bypass = _deterministic(tenant, "Where is my order?")
    bypass.constraints.cache.no_cache = True
    response: pb.RouteResponse = await stub.Route(bypass, timeout=10)
    assert [a.served_from for a in response.attempts] == [routing_pb2.SERVED_FROM_REMOTE]


async def test_cache_down_is_skipped(make_router) -> None:
    stub, parts = await make_router(cache_target=f"127.0.0.1:{free_port()}")
    response: pb.RouteResponse = await stub.Route(_deterministic("t-down"), timeout=10)
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE
    assert [a.outcome for a in response.attempts] == [pb.ATTEMPT_OUTCOME_MISS, pb.ATTEMPT_OUTCOME_SUCCESS]
    assert parts.cache is not None and parts.cache.skipped == 1
