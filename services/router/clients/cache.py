"""Client of the cache (bourse.cache.v1.CacheService). The cache is an optimisation: a cache that is down,
slow or broken is skipped, never allowed to fail a request."""

from __future__ import annotations

import asyncio

import grpc
import structlog
from bourse.cache.v1 import cache_service_pb2, cache_service_pb2_grpc
from bourse.common.v1 import chat_pb2

from services.router.core.execution.route_types import Tier


class CacheClient:
    def __init__(
        self, channel: grpc.aio.Channel, logger: structlog.typing.FilteringBoundLogger, *, deadline_s: float
    ) -> None:
        self._channel = channel
        self._stub = cache_service_pb2_grpc.CacheServiceStub(channel)  # type: ignore[no-untyped-call]
        self._log = logger
        self._deadline_s = deadline_s
        self._stores: set[asyncio.Task[None]] = set()
        self.skipped = 0  # lookups that failed or timed out
        self.store_failures = 0

    async def lookup(
        self, chat: chat_pb2.ChatRequest, tenant: str, tier: Tier, min_similarity: float | None
    ) -> cache_service_pb2.LookupResponse | None:
        """The response (a hit, or a miss carrying the cache's semantic decision), or None on an error or when the
        deadline passed."""
        request = cache_service_pb2.LookupRequest(
            chat=chat, scope=cache_service_pb2.CacheScope(tenant_id=tenant, model_tier=tier)
        )
        if min_similarity is not None:
            request.min_similarity = min_similarity
        try:
            response: cache_service_pb2.LookupResponse = await self._stub.Lookup(request, timeout=self._deadline_s)
        except grpc.aio.AioRpcError as error:
            self.skipped += 1
            self._log.debug("cache_lookup_skipped", code=error.code().name)
            return None
        return response

    def store_later(
        self,
        chat: chat_pb2.ChatRequest,
        tenant: str,
        tier: Tier,
        answer: cache_service_pb2.CachedAnswer,
        ttl_seconds: int,
    ) -> None:
        """Store in the background; the request never waits for it."""
        request = cache_service_pb2.StoreRequest(
            chat=chat,
            scope=cache_service_pb2.CacheScope(tenant_id=tenant, model_tier=tier),
            answer=answer,
            ttl_seconds=ttl_seconds,
        )
        task = asyncio.get_running_loop().create_task(self._store(request))
        self._stores.add(task)
        task.add_done_callback(self._stores.discard)

    async def _store(self, request: cache_service_pb2.StoreRequest) -> None:
        try:
            await self._stub.Store(request, timeout=max(self._deadline_s * 25, 1.0))
        except grpc.aio.AioRpcError as error:
            self.store_failures += 1
            self._log.debug("cache_store_failed", code=error.code().name)

    async def flush(self) -> None:
        """Wait for stores in flight (shutdown and tests)."""
        if self._stores:
            await asyncio.gather(*list(self._stores), return_exceptions=True)

    async def close(self) -> None:
        await self.flush()
        await self._channel.close()
