"""create_server: the simulator's factory (one lifecycle, shared.lifecycle); `start_simulator` starts one for tests
and benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from services.simulator import anthropic_api, control, gemini_api, openai_api
from services.simulator.config import SimulatorConfig
from services.simulator.engine import Simulator
from shared.metrics import serve_metrics

if TYPE_CHECKING:
    from shared.tracing import Tracing

Handler = Callable[[Simulator, web.Request], Awaitable[web.StreamResponse]]
Bound = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _binder(sim: Simulator, responses: Counter) -> Callable[[Handler], Bound]:
    def bind(handler: Handler) -> Bound:
        async def bound(request: web.Request) -> web.StreamResponse:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            if isinstance(peer, tuple):
                sim.peers.add((str(peer[0]), int(peer[1])))
            response = await handler(sim, request)
            responses.labels(request.match_info.get("provider", "_sim"), str(response.status)).inc()
            return response

        return bound

    return bind


def build_app(sim: Simulator, registry: CollectorRegistry) -> web.Application:
    responses = Counter(
        "bourse_simulator_responses",
        "Simulated responses by provider and HTTP status",
        ["provider", "status"],
        registry=registry,
    )
    bind = _binder(sim, responses)
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post("/{provider}/v1/chat/completions", bind(openai_api.handle))
    app.router.add_post("/{provider}/v1/messages", bind(anthropic_api.handle))
    app.router.add_post("/{provider}/v1beta/models/{model_action}", bind(gemini_api.handle))
    app.router.add_post("/_sim/faults", bind(control.add_fault))
    app.router.add_delete("/_sim/faults", bind(control.clear_faults))
    app.router.add_get("/_sim/stats", bind(control.stats))
    app.router.add_get("/healthz", control.healthz)
    return app


@dataclass
class SimulatorServer:
    """The simulator's HTTP server; `start()` serves, `stop()` lets in-flight responses finish, then closes."""

    runner: web.AppRunner
    listen: str
    port: int = 0
    loading: asyncio.Task[None] | None = None  # nothing loads in the background

    async def start(self) -> None:
        await self.runner.setup()
        host, _, port = self.listen.rpartition(":")
        site = web.TCPSite(self.runner, host or "127.0.0.1", int(port))
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self, grace_s: float = 2.0, drain_s: float = 0.0) -> None:
        """In-flight responses get the runner's shutdown timeout (the config's `shutdown_grace_s`)."""
        await self.runner.cleanup()


async def create_server(
    config: SimulatorConfig, logger: structlog.typing.FilteringBoundLogger, *, tracing: Tracing | None = None
) -> SimulatorServer:
    """Build the simulator on config.listen ("host:port", port 0 for an ephemeral one); `start()` serves it.

    With `tracing`, each simulated provider call is a SERVER span continuing the adapter's `traceparent`.
    """
    registry = CollectorRegistry()
    app = build_app(Simulator(config), registry)
    if tracing is not None:
        from shared.http_tracing import tracing_middleware  # OpenTelemetry is loaded only when tracing

        app.middlewares.append(tracing_middleware(tracing))

        async def close_tracing(_app: web.Application) -> None:
            await tracing.close()

        app.on_cleanup.append(close_tracing)
    metrics_server = serve_metrics(registry, config.metrics_listen)
    if metrics_server is not None:

        async def close_metrics(_app: web.Application) -> None:
            await asyncio.to_thread(metrics_server.shutdown)
            metrics_server.server_close()

        app.on_cleanup.append(close_metrics)
    logger.info("simulator", seed=config.seed, models=sorted(config.models))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=config.shutdown_grace_s)
    return SimulatorServer(runner=runner, listen=config.listen)


async def start_simulator(config: SimulatorConfig) -> tuple[web.AppRunner, int]:
    """`create_server` then `start()`, for tests and benchmarks: returns the runner and the bound port.

    `await runner.cleanup()` stops it (and its metrics endpoint, when metrics_listen is set).
    """
    server = await create_server(config, structlog.get_logger("simulator"))
    await server.start()
    return server.runner, server.port
