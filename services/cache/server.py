"""Builds the cache server: gRPC first (health NOT_SERVING), then the encoder, the store and NATS in the background.

Health turns SERVING once the encoder is loaded, the store and index are open and the event stream is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry, Gauge

from services.cache.config import CacheConfig
from services.cache.core.cache import ResponseCache
from services.cache.events import CacheEvents
from services.cache.registration import add_cache_service
from services.cache.servicer import CacheServicer
from shared.embedding.convert import ensure_minilm
from shared.embedding.encoder import SentenceEncoder
from shared.events.connect import close_nats, connect
from shared.events.publisher import EventPublisher
from shared.metrics import RpcMetrics, serve_metrics
from shared.model_store import models_dir
from shared.serving import ServiceServer, new_server

if TYPE_CHECKING:
    from shared.tracing import Tracing

SERVICE_NAME = "bourse.cache.v1.CacheService"


@dataclass
class CacheService:
    """The server plus what the cache owns (for tests that look inside); follows the one lifecycle.

    Loading (encoder, store, NATS) runs in the background from `create_server` on; it turns health SERVING.
    """

    service: ServiceServer
    servicer: CacheServicer
    cache: ResponseCache | None = None
    events: CacheEvents | None = None
    nc: NATS | None = None
    publisher: EventPublisher | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def loading(self) -> asyncio.Task[None] | None:
        return self.service.loading

    async def start(self) -> None:
        await self.service.start()

    async def stop(self, grace_s: float = 5.0, drain_s: float = 0.0) -> None:
        await self.service.stop(grace_s, drain_s)


async def create_server(
    config: CacheConfig,
    logger: structlog.typing.FilteringBoundLogger,
    *,
    registry: CollectorRegistry | None = None,
    tracing: Tracing | None = None,
) -> CacheService:
    servicer = CacheServicer()
    registry = registry or CollectorRegistry()
    service = new_server(
        listen=config.listen,
        service_names=[SERVICE_NAME],
        logger=logger,
        metrics=RpcMetrics.create(registry, "cache"),
        tracing=tracing,
    )
    add_cache_service(servicer, service.server)
    metrics_server = serve_metrics(registry, config.metrics_listen)
    holder = CacheService(service=service, servicer=servicer)
    service.loading = asyncio.get_running_loop().create_task(
        _load(config=config, logger=logger, holder=holder, registry=registry)
    )

    closed = False

    async def close() -> None:
        nonlocal closed
        if closed:  # stop() may run twice (signal, then a test's teardown)
            return
        closed = True
        tasks = [task for task in (service.loading, *holder.tasks) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if holder.events is not None:
            await holder.events.stop()
        if holder.publisher is not None:
            await holder.publisher.close()
        if holder.nc is not None:
            await close_nats(holder.nc, logger)
        if holder.cache is not None:
            await asyncio.to_thread(holder.cache.close)
        if metrics_server is not None:
            metrics_server.shutdown()

    service.closers.append(close)
    return holder


async def _load(
    *,
    config: CacheConfig,
    logger: structlog.typing.FilteringBoundLogger,
    holder: CacheService,
    registry: CollectorRegistry,
) -> None:
    try:
        root = Path(config.models_dir) if config.models_dir else models_dir()
        model_dir = await asyncio.to_thread(ensure_minilm, root)
        encoder = await asyncio.to_thread(
            SentenceEncoder, model_dir, compute_type=config.compute_type, intra_threads=config.intra_threads
        )
        data_dir = config.resolved_data_dir()
        cache = await asyncio.to_thread(
            lambda: ResponseCache(
                data_dir=data_dir,
                encode=encoder.encode,
                dimensions=encoder.dimensions,
                policy=config.policy(),
                index_dtype=config.index_dtype,
            )
        )
        holder.cache = cache
        # NATS last: while it is unreachable the server stays up and NOT_SERVING (connect retries forever).
        nc = holder.nc = await connect([config.nats_url], logger, name="bourse-cache")
        publisher = holder.publisher = EventPublisher(nc, logger)
        publisher.start()
        events = CacheEvents(
            nc=nc,
            publisher=publisher,
            cache=cache,
            logger=logger,
            replica_id=config.replica_id or f"{socket.gethostname()}-{os.getpid()}",
            replicate=config.replication,
            max_ttl_s=config.max_ttl_s,
        )
        await events.start()
        holder.events = events
        Gauge("bourse_cache_entries", "Entries in the cache", registry=registry).set_function(lambda: cache.entries)
        holder.servicer.ready(cache, events)
        loop = asyncio.get_running_loop()
        holder.tasks.append(loop.create_task(_every(config.snapshot_interval_s, cache.save_snapshot, logger)))
        holder.tasks.append(loop.create_task(_every(config.sweep_interval_s, cache.expire, logger)))
        await holder.service.set_serving()
        logger.info(
            "cache_ready",
            entries=cache.entries,
            rebuilt_index=cache.rebuilt_index,
            model=encoder.name,
            compute_type=config.compute_type,
            data_dir=str(data_dir),
        )
    except Exception as error:
        logger.exception("cache_start_failed", error=repr(error))
        raise


async def _every(interval_s: float, work: Callable[[], object], logger: structlog.typing.FilteringBoundLogger) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(work)
        except (OSError, RuntimeError) as error:
            logger.warning("cache_periodic_failed", work=getattr(work, "__name__", "?"), error=repr(error))
