"""Builds the gateway: gRPC channels to the router and local inference, the key store, the HTTP server.

`create_server` is used by `__main__` and by the tests (listen on port 0 there); the server follows the one
lifecycle of `shared.lifecycle`: `start()` binds and serves, `stop()` drains and closes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from bourse.inference.v1 import inference_service_pb2_grpc as inference_grpc
from bourse.router.v1 import router_service_pb2_grpc as router_grpc
from prometheus_client import CollectorRegistry

from services.gateway.config import GatewayConfig
from services.gateway.http_api import Middleware, OpenAIHttpApi
from services.gateway.key_store import KeyStore, open_bucket
from services.gateway.metrics import GatewayMetrics
from services.gateway.response_store import ResponseStore, open_response_bucket
from shared.events.connect import close_nats, connect
from shared.metrics import serve_metrics
from shared.serving import insecure_channel

if TYPE_CHECKING:
    from shared.tracing import Tracing

Closer = Callable[[], Awaitable[None]]


@dataclass
class GatewayServer:
    """The HTTP gateway; `start()` serves, `stop()` finishes in-flight requests, then closes channels and NATS."""

    api: OpenAIHttpApi
    runner: web.AppRunner
    listen: str
    logger: structlog.typing.FilteringBoundLogger
    closers: list[Closer] = field(default_factory=list)  # run in reverse at stop
    port: int = 0
    loading: asyncio.Task[None] | None = None  # nothing loads in the background

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        await self.runner.setup()
        host, _, port = self.listen.rpartition(":")
        site = web.TCPSite(self.runner, host or "127.0.0.1", int(port), backlog=1024)
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        self.api.serving = True

    async def stop(self, grace_s: float = 5.0, drain_s: float = 0.0) -> None:
        """/healthz answers 503 for `drain_s`, then stop listening and let in-flight requests finish, then close.

        In-flight requests get the runner's shutdown timeout, which is the config's `shutdown_grace_s`: the value
        the lifecycle passes as `grace_s`.
        """
        self.api.serving = False
        if drain_s > 0:
            await asyncio.sleep(drain_s)
        await self.runner.cleanup()
        for close in reversed(self.closers):
            try:
                await close()
            except Exception:  # one failing closer must not leave the others open
                self.logger.exception("close_failed", closer=getattr(close, "__qualname__", repr(close)))


async def create_server(
    config: GatewayConfig,
    logger: structlog.typing.FilteringBoundLogger,
    *,
    registry: CollectorRegistry | None = None,
    tracing: Tracing | None = None,
) -> GatewayServer:
    closers: list[Closer] = []  # in the order opened; stop() runs them in reverse
    outer: list[Middleware] = []
    if tracing is not None:
        from shared.http_tracing import tracing_middleware  # OpenTelemetry is loaded only when tracing

        closers.append(tracing.close)  # run last: the spans of the last requests are flushed
        outer.append(tracing_middleware(tracing))
    router_channel = insecure_channel(config.router, tracing=tracing)
    inference_channel = insecure_channel(config.inference, tracing=tracing)
    closers += [inference_channel.close, router_channel.close]
    nc = await connect([config.nats_url], logger, name="bourse-gateway")
    closers.append(functools.partial(close_nats, nc, logger))
    # A short JetStream timeout: a key lookup while NATS is away fails fast (503) instead of holding the request.
    keys = KeyStore(await open_bucket(nc.jetstream(timeout=2.0), config.keys_bucket), logger)
    await keys.watch()
    closers.append(keys.close)
    responses = None
    if config.responses_ttl_s > 0:
        bucket = await open_response_bucket(nc.jetstream(timeout=2.0), config.responses_bucket, config.responses_ttl_s)
        responses = ResponseStore(bucket, logger)
    registry = registry or CollectorRegistry()
    metrics_server = serve_metrics(registry, config.metrics_listen)
    if metrics_server is not None:
        server = metrics_server

        async def close_metrics() -> None:
            server.shutdown()

        closers.append(close_metrics)
    api = OpenAIHttpApi(
        config=config,
        router=router_grpc.RouterServiceStub(router_channel),  # type: ignore[no-untyped-call]
        inference=inference_grpc.InferenceServiceStub(inference_channel),  # type: ignore[no-untyped-call]
        keys=keys,
        responses=responses,
        logger=logger,
        metrics=GatewayMetrics.create(registry),
    )
    # handler_cancellation: a client that goes away cancels its handler, and so its router call.
    runner = web.AppRunner(
        api.application(outer),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=config.shutdown_grace_s,
        handler_cancellation=True,
    )
    return GatewayServer(api=api, runner=runner, listen=config.listen, logger=logger, closers=closers)
