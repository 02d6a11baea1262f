"""Several cache replicas share one cache through the BOURSE_CACHE stream (docs/cache.md, "Several replicas")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc

from services.cache.core.cache import REPLICATION_SEQUENCE
from services.cache.core.entry_store import EntryStore
from tests.cache.conftest import StartCache, answer, chat, new_tenant, scope
from tests.support.eventually import eventually

pytestmark = pytest.mark.model


def lookup_of(stub: cache_grpc.CacheServiceStub, text: str, tenant: str) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        reply = await stub.Lookup(cache_pb.LookupRequest(chat=chat(text), scope=scope(tenant)))
        return int(reply.match)

    return run


async def test_stores_invalidations_and_bad_hits_reach_every_replica(start_cache: StartCache) -> None:
    _, a = await start_cache("a", replication=True)
    _, b = await start_cache("b", replication=True)
    tenant = new_tenant()
    stored = await a.Store(
        cache_pb.StoreRequest(chat=chat("How do I rotate my API key?"), scope=scope(tenant), answer=answer("Settings."))
    )
    on_b = lookup_of(b, "how can I rotate my API key", tenant)

    async def b_hits_semantically() -> bool:
        return await on_b() == cache_pb.MATCH_KIND_SEMANTIC

    await eventually(b_hits_semantically)  # B answers from A's entry without A being asked
    reply = await b.ReportBadHit(cache_pb.ReportBadHitRequest(entry_key=stored.entry_key, request_id="r1"))
    assert reply.evicted
    on_a = lookup_of(a, "How do I rotate my API key?", tenant)

    async def gone_from_a() -> bool:
        return await on_a() == cache_pb.MATCH_KIND_UNSPECIFIED

    await eventually(gone_from_a)  # a wrong hit reported anywhere is evicted everywhere

    for i in range(3):
        await b.Store(cache_pb.StoreRequest(chat=chat(f"Plan {i} price?"), scope=scope(tenant), answer=answer(f"${i}")))
    last_on_a = lookup_of(a, "Plan 2 price?", tenant)

    async def a_has_all() -> bool:
        return await last_on_a() == cache_pb.MATCH_KIND_EXACT

    await eventually(a_has_all)
    plan_namespace = (await a.Lookup(cache_pb.LookupRequest(chat=chat("x"), scope=scope(tenant)))).namespace
    extra = await b.Store(
        cache_pb.StoreRequest(chat=chat("x", system="other"), scope=scope(tenant), answer=answer("other"))
    )
    on_a_extra = lookup_of(a, "x", tenant)
    await eventually(lambda: _is(on_a_extra, cache_pb.MATCH_KIND_UNSPECIFIED))  # namespace differs: no hit
    assert extra.namespace != plan_namespace
    removed = await a.Invalidate(cache_pb.InvalidateRequest(namespace=plan_namespace))
    assert removed.removed == 3
    await a.Invalidate(cache_pb.InvalidateRequest(tenant_id=tenant))
    first_on_b = lookup_of(b, "Plan 0 price?", tenant)

    async def b_invalidated() -> bool:
        return await first_on_b() == cache_pb.MATCH_KIND_UNSPECIFIED

    await eventually(b_invalidated)


async def test_a_restarted_replica_catches_up_and_a_new_one_replays(start_cache: StartCache) -> None:
    tenant = new_tenant()
    service_b, b = await start_cache("b", replication=True)
    _, a = await start_cache("a", replication=True)
    await b.Store(cache_pb.StoreRequest(chat=chat("What is the SLA?"), scope=scope(tenant), answer=answer("99.9%")))
    await eventually(lambda: _is(lookup_of(a, "What is the SLA?", tenant), cache_pb.MATCH_KIND_EXACT))
    await service_b.service.stop(1.0)  # B goes down; A keeps taking stores
    await a.Store(cache_pb.StoreRequest(chat=chat("Do you offer SSO?"), scope=scope(tenant), answer=answer("Yes")))
    _, b_again = await start_cache("b", replication=True)  # same data directory: resumes from its sequence
    await eventually(lambda: _is(lookup_of(b_again, "Do you offer SSO?", tenant), cache_pb.MATCH_KIND_EXACT))
    _, c = await start_cache("c", replication=True)  # empty data directory: replays the stream
    await eventually(lambda: _is(lookup_of(c, "What is the SLA?", tenant), cache_pb.MATCH_KIND_EXACT))
    await eventually(lambda: _is(lookup_of(c, "Do you offer SSO?", tenant), cache_pb.MATCH_KIND_EXACT))


async def _is(run: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await run() == expected


async def test_a_sequence_past_the_stream_end_replays_from_the_start(start_cache: StartCache, tmp_path: Path) -> None:
    # As after NATS lost its storage: the replica remembers a sequence the stream never reached.
    store = EntryStore(tmp_path / "ahead" / "entries.sqlite3")
    store.set_meta({REPLICATION_SEQUENCE: 10**12})
    store.close()
    tenant = new_tenant()
    _, writer = await start_cache("writer", replication=True)
    await writer.Store(
        cache_pb.StoreRequest(chat=chat("Is there a free tier?"), scope=scope(tenant), answer=answer("Yes"))
    )
    _, ahead = await start_cache("ahead", replication=True)
    await eventually(lambda: _is(lookup_of(ahead, "Is there a free tier?", tenant), cache_pb.MATCH_KIND_EXACT))
