"""CacheService over real gRPC (port 0) with the real encoder, usearch and nats-server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import msgspec
import pytest
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NATS

from services.cache.events import BAD_HIT, CacheBadHit
from shared.events import subjects
from shared.grpc_errors import from_rpc_error
from shared.processes import free_port
from tests.cache.conftest import SERVICE, StartCache, answer, chat, new_tenant, scope
from tests.support.eventually import eventually

pytestmark = pytest.mark.model


async def test_store_lookup_stats_invalidate(start_cache: StartCache) -> None:
    _, stub = await start_cache()
    tenant = new_tenant()
    stored = await stub.Store(
        cache_pb.StoreRequest(
            chat=chat("How do I reset my password?"), scope=scope(tenant), answer=answer("Click reset.")
        )
    )
    assert stored.stored and stored.entry_key
    exact = await stub.Lookup(cache_pb.LookupRequest(chat=chat("How do I reset my password?"), scope=scope(tenant)))
    assert exact.match == cache_pb.MATCH_KIND_EXACT and exact.similarity == 1.0
    assert exact.answer.completion.content == "Click reset." and exact.answer.cost_micro_usd == 1200
    similar = await stub.Lookup(cache_pb.LookupRequest(chat=chat("how can i reset my password"), scope=scope(tenant)))
    assert similar.match == cache_pb.MATCH_KIND_SEMANTIC and similar.entry_key == stored.entry_key
    strict = await stub.Lookup(
        cache_pb.LookupRequest(chat=chat("how can i reset my password"), scope=scope(tenant), min_similarity=0.9999)
    )
    assert strict.match == cache_pb.MATCH_KIND_UNSPECIFIED and not strict.HasField("answer")
    other = await stub.Lookup(cache_pb.LookupRequest(chat=chat("How do I reset my password?"), scope=scope("x")))
    assert other.match == cache_pb.MATCH_KIND_UNSPECIFIED
    stats = await stub.Stats(cache_pb.StatsRequest())
    assert (stats.entries, stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 1, 1, 2)
    assert stats.index_bytes > 0
    removed = await stub.Invalidate(cache_pb.InvalidateRequest(tenant_id=tenant))
    assert removed.removed == 1
    assert (await stub.Stats(cache_pb.StatsRequest())).entries == 0


async def test_invalidate_one_namespace(start_cache: StartCache) -> None:
    _, stub = await start_cache()
    tenant = new_tenant()
    terse = await stub.Store(
        cache_pb.StoreRequest(
            chat=chat("What is DNS?", system="Be terse."), scope=scope(tenant), answer=answer("Names.")
        )
    )
    await stub.Store(cache_pb.StoreRequest(chat=chat("What is DNS?"), scope=scope(tenant), answer=answer("Long.")))
    miss = await stub.Lookup(cache_pb.LookupRequest(chat=chat("Unrelated", system="Be terse."), scope=scope(tenant)))
    assert terse.namespace and miss.namespace == terse.namespace
    removed = await stub.Invalidate(cache_pb.InvalidateRequest(namespace=terse.namespace))
    assert removed.removed == 1
    kept = await stub.Lookup(cache_pb.LookupRequest(chat=chat("What is DNS?"), scope=scope(tenant)))
    assert kept.match == cache_pb.MATCH_KIND_EXACT and kept.answer.completion.content == "Long."
    assert kept.namespace != terse.namespace


async def test_store_declines_what_must_not_be_cached(start_cache: StartCache) -> None:
    _, stub = await start_cache()
    tenant = new_tenant()
    hot = await stub.Store(
        cache_pb.StoreRequest(chat=chat("Tell me a story", temperature=1.2), scope=scope(tenant), answer=answer("Once"))
    )
    assert not hot.stored and "temperature" in hot.reason
    empty = await stub.Store(cache_pb.StoreRequest(chat=chat("Hi"), scope=scope(tenant), answer=answer("")))
    assert not empty.stored and empty.reason == "the answer is empty"
    filtered = answer("partial")
    filtered.completion.finish_reason = 4  # FINISH_REASON_CONTENT_FILTER
    refused = await stub.Store(cache_pb.StoreRequest(chat=chat("Hi"), scope=scope(tenant), answer=filtered))
    assert not refused.stored and refused.reason == "the answer was filtered"
    assert (await stub.Stats(cache_pb.StatsRequest())).entries == 0


@pytest.mark.parametrize(
    ("call", "request_", "field"),
    [
        ("Lookup", cache_pb.LookupRequest(scope=scope("t")), "chat.messages"),
        ("Lookup", cache_pb.LookupRequest(chat=chat("q"), scope=scope("t"), min_similarity=1.5), "min_similarity"),
        ("Store", cache_pb.StoreRequest(chat=chat("q"), scope=scope("t")), "answer"),
        ("Invalidate", cache_pb.InvalidateRequest(), "target"),
        ("Invalidate", cache_pb.InvalidateRequest(entry_key=""), "entry_key"),
        ("Invalidate", cache_pb.InvalidateRequest(namespace=""), "namespace"),
        ("ReportBadHit", cache_pb.ReportBadHitRequest(), "entry_key"),
        ("ReportBadHit", cache_pb.ReportBadHitRequest(entry_key="e", request_id="a\nb"), "request_id"),
    ],
)
async def test_bad_requests_are_invalid_argument_with_the_field(
    start_cache: StartCache, call: str, request_: object, field: str
) -> None:
    _, stub = await start_cache()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, call)(request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in from_rpc_error(caught.value).violations] == [field]


async def test_report_bad_hit_evicts_and_publishes(start_cache: StartCache, nc: NATS) -> None:
    _, stub = await start_cache()
    tenant = new_tenant()
    received: asyncio.Queue[CacheBadHit] = asyncio.Queue()

    async def on_event(msg: object) -> None:
        await received.put(msgspec.json.decode(msg.data, type=CacheBadHit))  # type: ignore[attr-defined]

    await nc.subscribe(f"{BAD_HIT}.{subjects.token(tenant)}", cb=on_event)
    stored = await stub.Store(
        cache_pb.StoreRequest(chat=chat("Convert 5 km to miles"), scope=scope(tenant), answer=answer("3.1 miles"))
    )
    reply = await stub.ReportBadHit(
        cache_pb.ReportBadHitRequest(entry_key=stored.entry_key, request_id="req-1", note="wrong unit")
    )
    assert reply.evicted
    event = await asyncio.wait_for(received.get(), timeout=10)
    assert (event.tenant, event.entry_key, event.request_id, event.evicted) == (tenant, stored.entry_key, "req-1", True)
    lookup = await stub.Lookup(cache_pb.LookupRequest(chat=chat("Convert 5 km to miles"), scope=scope(tenant)))
    assert lookup.match == cache_pb.MATCH_KIND_UNSPECIFIED
    again = await stub.ReportBadHit(cache_pb.ReportBadHitRequest(entry_key=stored.entry_key))
    assert not again.evicted
    assert (await stub.Stats(cache_pb.StatsRequest())).bad_hits == 2


async def test_not_serving_while_nats_is_unreachable(start_cache: StartCache) -> None:
    service, stub = await start_cache("no-nats", wait=False, nats_url=f"nats://127.0.0.1:{free_port()}")
    # encoder loaded and store opened; now waiting on NATS
    await eventually(lambda: service.cache is not None, timeout_s=60, what="the cache store to open")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.service.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        status = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE))
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Lookup(cache_pb.LookupRequest(chat=chat("q"), scope=scope("t")))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_not_serving_and_unavailable_until_loaded(start_cache: StartCache, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    service, stub = await start_cache("broken", wait=False, models_dir=str(blocker / "models"))
    assert service.loading is not None
    with pytest.raises(OSError):
        await service.loading
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.service.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        status = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE))
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Stats(cache_pb.StatsRequest())
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert from_rpc_error(caught.value).reason == "NOT_READY"


async def test_lookup_carries_the_semantic_decision(start_cache: StartCache) -> None:
    _, stub = await start_cache(semantic_modes={"quiet": "off"})
    tenant = new_tenant()
    await stub.Store(cache_pb.StoreRequest(chat=chat("Subtract 15 from 80"), scope=scope(tenant), answer=answer("65")))
    swapped = await stub.Lookup(cache_pb.LookupRequest(chat=chat("Subtract 80 from 15"), scope=scope(tenant)))
    assert swapped.match == cache_pb.MATCH_KIND_UNSPECIFIED
    assert (swapped.decision.mode, swapped.decision.affirmed, swapped.decision.reason) == (
        "strict",
        False,
        "operand_order",
    )
    assert swapped.decision.similarity > 0.9 and swapped.decision.candidates == 1
    same = await stub.Lookup(cache_pb.LookupRequest(chat=chat("subtract 15 from 80 please"), scope=scope(tenant)))
    assert same.match == cache_pb.MATCH_KIND_SEMANTIC and same.decision.affirmed
    assert same.decision.reason == "affirmed" and 0 < same.decision.score <= 1
    await stub.Store(cache_pb.StoreRequest(chat=chat("What is 15% of 80?"), scope=scope("quiet"), answer=answer("12")))
    off = await stub.Lookup(cache_pb.LookupRequest(chat=chat("what is 15% of 80"), scope=scope("quiet")))
    assert off.match == cache_pb.MATCH_KIND_UNSPECIFIED and off.decision.reason == "semantic_off"


async def test_report_bad_hit_tightens_the_namespace(start_cache: StartCache) -> None:
    _, stub = await start_cache()
    tenant = new_tenant()
    store = cache_pb.StoreRequest(chat=chat("How do I reset my password?"), scope=scope(tenant), answer=answer("a"))
    await stub.Store(store)
    query = cache_pb.LookupRequest(chat=chat("how do I reset my password please"), scope=scope(tenant))
    hit = await stub.Lookup(query)
    assert hit.match == cache_pb.MATCH_KIND_SEMANTIC
    reported = await stub.ReportBadHit(cache_pb.ReportBadHitRequest(entry_key=hit.entry_key))
    assert reported.evicted and reported.namespace == hit.namespace and reported.threshold > hit.decision.score
    await stub.Store(store)
    again = await stub.Lookup(query)
    assert again.match == cache_pb.MATCH_KIND_UNSPECIFIED and again.decision.reason == "classifier"
    assert again.decision.threshold == pytest.approx(reported.threshold)


@pytest.mark.parametrize("text", ["", "   \n\t  "])
async def test_empty_questions_miss_and_are_not_stored(start_cache: StartCache, text: str) -> None:
    _, stub = await start_cache()
    stored = await stub.Store(cache_pb.StoreRequest(chat=chat(text), scope=scope("t"), answer=answer("x")))
    assert not stored.stored and stored.reason == "the last message is empty"
    missed = await stub.Lookup(cache_pb.LookupRequest(chat=chat(text), scope=scope("t")))
    assert missed.match == cache_pb.MATCH_KIND_UNSPECIFIED and not missed.HasField("answer")


async def test_a_100k_character_question_is_exact_only(start_cache: StartCache) -> None:
    _, stub = await start_cache()
    text = "Please review this log. " + "x" * 100_000
    stored = await stub.Store(cache_pb.StoreRequest(chat=chat(text), scope=scope("t"), answer=answer("ok")))
    assert stored.stored
    assert (await stub.Lookup(cache_pb.LookupRequest(chat=chat(text), scope=scope("t")))).match == (
        cache_pb.MATCH_KIND_EXACT
    )
    longer = await stub.Lookup(cache_pb.LookupRequest(chat=chat(text + " Now?"), scope=scope("t")))
    assert longer.match == cache_pb.MATCH_KIND_UNSPECIFIED and longer.decision.reason == "too_long"


async def test_non_utf8_text_is_refused_as_invalid_argument(start_cache: StartCache) -> None:
    service, _ = await start_cache()
    valid = cache_pb.LookupRequest(chat=chat("caf\u00e9 hours?"), scope=scope("t")).SerializeToString()
    broken = valid.replace("caf\u00e9".encode(), b"caf\xe9\xff")
    assert broken != valid
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.service.port}") as channel:
        raw = channel.unary_unary("/bourse.cache.v1.CacheService/Lookup")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw(broken, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in (caught.value.details() or "")
