"""Builds a running gateway: gRPC channels to the router and local inference, the key store, the HTTP server.

`create_server` is used by `__main__` and by the tests (listen on port 0 there).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from bourse.inference.v1 import inference_service_pb2_grpc as inference_grpc
from bourse.router.v1 import router_service_pb2_grpc as router_grpc
from prometheus_client import CollectorRegistry

from services.gateway.config import GatewayConfig
from services.gateway.http_api import OpenAIHttpApi
from services.gateway.key_store import KeyStore, open_bucket
from services.gateway.metrics import GatewayMetrics
from services.gateway.response_store import ResponseStore, open_response_bucket
from shared.events.connect import close_nats, connect
from shared.metrics import serve_metrics
from shared.serving import insecure_channel

Closer = Callable[[], Awaitable[None]]


@dataclass
class GatewayServer:
    """A started HTTP gateway; `stop()` finishes in-flight requests, then closes channels and NATS."""

    api: OpenAIHttpApi
    runner: web.AppRunner
    port: int
    closers: list[Closer] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def stop(self) -> None:
        """Stop listening, let in-flight requests finish (up to shutdown_grace_s), then close the clients."""
        self.api.serving = False
        await self.runner.cleanup()
        for close in self.closers:
            with contextlib.suppress(Exception):
                await close()


async def create_server(
    config: GatewayConfig,
    logger: structlog.typing.FilteringBoundLogger,
    *,
    registry: CollectorRegistry | None = None,
) -> GatewayServer:
    closers: list[Closer] = []
    router_channel = insecure_channel(config.router)
    inference_channel = insecure_channel(config.inference)
    closers += [router_channel.close, inference_channel.close]
    nc = await connect([config.nats_url], logger, name="bourse-gateway")
    # A short JetStream timeout: a key lookup while NATS is away fails fast (503) instead of holding the request.
    keys = KeyStore(await open_bucket(nc.jetstream(timeout=2.0), config.keys_bucket), logger)
    await keys.watch()
    responses = None
    if config.responses_ttl_s > 0:
        bucket = await open_response_bucket(nc.jetstream(timeout=2.0), config.responses_bucket, config.responses_ttl_s)
        responses = ResponseStore(bucket, logger)
    closers = [keys.close, functools.partial(close_nats, nc, logger), *closers]
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
        api.application(),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=config.shutdown_grace_s,
        handler_cancellation=True,
    )
    await runner.setup()
    host, _, port = config.listen.rpartition(":")
    site = web.TCPSite(runner, host or "127.0.0.1", int(port), backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    return GatewayServer(api=api, runner=runner, port=int(bound), closers=closers)
