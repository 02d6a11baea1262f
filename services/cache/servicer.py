"""CacheService RPCs: proto <-> core, nothing else. Core calls run in worker threads (embedding, SQLite)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, TypeAlias

import grpc
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc

from services.cache.core.cache import Decision, LookupResult, ResponseCache
from services.cache.core.namespace import view_request
from services.cache.core.storable import why_not_storable
from services.cache.events import CacheBadHit, CacheEvents
from shared.errors import BourseError, FieldViolation, InvalidRequest, Reason
from shared.input_bounds import check_request_id

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

_MATCH = {"exact": cache_pb.MATCH_KIND_EXACT, "semantic": cache_pb.MATCH_KIND_SEMANTIC}


class NotReady(BourseError):
    """The encoder or the store is still loading."""

    default_reason = Reason.NOT_READY


class CacheServicer(cache_grpc.CacheServiceServicer):
    def __init__(self) -> None:
        self.cache: ResponseCache | None = None
        self.events: CacheEvents | None = None

    def ready(self, cache: ResponseCache, events: CacheEvents) -> None:
        self.cache = cache
        self.events = events

    def _parts(self) -> tuple[ResponseCache, CacheEvents]:
        if self.cache is None or self.events is None:
            raise NotReady("the cache is starting (loading the encoder and the store)", retry_after_s=1.0)
        return self.cache, self.events

    async def Lookup(self, request: cache_pb.LookupRequest, context: Context) -> cache_pb.LookupResponse:
        cache, _ = self._parts()
        view = view_request(request.chat, request.scope)
        min_similarity: float | None = None
        if request.HasField("min_similarity"):
            min_similarity = request.min_similarity
            if not (0.0 < min_similarity <= 1.0) or math.isnan(min_similarity):
                raise InvalidRequest(
                    f"min_similarity {min_similarity} is outside (0, 1]",
                    violations=[FieldViolation("min_similarity", "must be greater than 0 and at most 1")],
                )
        result: LookupResult = await asyncio.to_thread(
            cache.lookup, view, min_similarity=min_similarity, exact_only=request.exact_only
        )
        decision = _decision(result.decision)
        if not result.match:
            return cache_pb.LookupResponse(namespace=view.namespace, decision=decision)
        answer = cache_pb.CachedAnswer.FromString(result.answer)
        return cache_pb.LookupResponse(
            match=_MATCH[result.match],
            similarity=result.similarity,
            entry_key=result.entry_key,
            answer=answer,
            namespace=view.namespace,
            decision=decision,
        )

    async def Store(self, request: cache_pb.StoreRequest, context: Context) -> cache_pb.StoreResponse:
        cache, events = self._parts()
        if not request.HasField("answer"):
            raise InvalidRequest("answer is required", violations=[FieldViolation("answer", "the answer to store")])
        view = view_request(request.chat, request.scope)
        refusal = why_not_storable(request.answer)
        if refusal:
            return cache_pb.StoreResponse(
                entry_key=view.entry_key, stored=False, reason=refusal, namespace=view.namespace
            )
        result = await asyncio.to_thread(cache.store, view, request.answer.SerializeToString(), request.ttl_seconds)
        if result.record is not None:
            events.stored(result.record)
        return cache_pb.StoreResponse(
            entry_key=result.entry_key, stored=result.stored, reason=result.reason, namespace=view.namespace
        )

    async def Invalidate(self, request: cache_pb.InvalidateRequest, context: Context) -> cache_pb.InvalidateResponse:
        cache, events = self._parts()
        target = request.WhichOneof("target")
        if target == "entry_key":
            if not request.entry_key:
                raise InvalidRequest(
                    "entry_key is empty", violations=[FieldViolation("entry_key", "must not be empty")]
                )
            removed = await asyncio.to_thread(cache.invalidate_key, request.entry_key)
            events.invalidated(entry_key=request.entry_key)
        elif target == "namespace":
            if not request.namespace:
                raise InvalidRequest(
                    "namespace is empty", violations=[FieldViolation("namespace", "must not be empty")]
                )
            before_ms = time.time_ns() // 1_000_000
            removed = await asyncio.to_thread(cache.invalidate_namespace, request.namespace, before_ms)
            events.invalidated(namespace=request.namespace, before_ms=before_ms)
        elif target == "tenant_id":
            before_ms = time.time_ns() // 1_000_000
            removed = await asyncio.to_thread(cache.invalidate_tenant, request.tenant_id, before_ms)
            events.invalidated(tenant=request.tenant_id, before_ms=before_ms)
        else:
            raise InvalidRequest(
                "set entry_key or tenant_id", violations=[FieldViolation("target", "exactly one target is required")]
            )
        return cache_pb.InvalidateResponse(removed=removed)

    async def Stats(self, request: cache_pb.StatsRequest, context: Context) -> cache_pb.StatsResponse:
        cache, _ = self._parts()
        stats = cache.stats
        return cache_pb.StatsResponse(
            entries=cache.entries,
            exact_hits=stats.exact_hits,
            semantic_hits=stats.semantic_hits,
            misses=stats.misses,
            evictions=stats.evictions,
            bad_hits=stats.bad_hits,
            index_bytes=await asyncio.to_thread(lambda: cache.index_bytes),
        )

    async def ReportBadHit(
        self, request: cache_pb.ReportBadHitRequest, context: Context
    ) -> cache_pb.ReportBadHitResponse:
        cache, events = self._parts()
        if not request.entry_key:
            raise InvalidRequest("entry_key is empty", violations=[FieldViolation("entry_key", "must not be empty")])
        if bad_id := check_request_id(request.request_id, "request_id"):  # the id Route returned
            raise InvalidRequest("request_id is not a valid request id", violations=bad_id)
        bad = await asyncio.to_thread(cache.report_bad_hit, request.entry_key)
        events.bad_hit(
            CacheBadHit(
                ts_ms=time.time_ns() // 1_000_000,
                tenant=bad.tenant,
                entry_key=request.entry_key,
                request_id=request.request_id,
                note=request.note[:1000],
                evicted=bad.evicted,
                replica=events.replica_id,
                namespace=bad.namespace,
                score=bad.score,
            )
        )
        return cache_pb.ReportBadHitResponse(evicted=bad.evicted, namespace=bad.namespace, threshold=bad.threshold)


def _decision(decision: Decision | None) -> cache_pb.SemanticDecision | None:
    if decision is None:
        return None
    return cache_pb.SemanticDecision(
        mode=decision.mode,
        affirmed=decision.affirmed,
        reason=decision.reason,
        score=decision.score,
        threshold=decision.threshold,
        similarity=decision.similarity,
        candidates=decision.candidates,
    )
