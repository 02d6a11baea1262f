"""start_simulator: the one factory __main__, the tests and the benchmarks use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.simulator import anthropic_api, control, gemini_api, openai_api
from services.simulator.config import SimulatorConfig
from services.simulator.engine import Simulator

Handler = Callable[[Simulator, web.Request], Awaitable[web.StreamResponse]]


def _bind(sim: Simulator, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def bound(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if isinstance(peer, tuple):
            sim.peers.add((str(peer[0]), int(peer[1])))
        return await handler(sim, request)

    return bound


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post("/{provider}/v1/chat/completions", _bind(sim, openai_api.handle))
    app.router.add_post("/{provider}/v1/messages", _bind(sim, anthropic_api.handle))
    app.router.add_post("/{provider}/v1beta/models/{model_action}", _bind(sim, gemini_api.handle))
    app.router.add_post("/_sim/faults", _bind(sim, control.add_fault))
    app.router.add_delete("/_sim/faults", _bind(sim, control.clear_faults))
    app.router.add_get("/_sim/stats", _bind(sim, control.stats))
    app.router.add_get("/healthz", control.healthz)
    return app


async def start_simulator(config: SimulatorConfig) -> tuple[web.AppRunner, int]:
    """Start serving on config.listen ("host:port", port 0 for an ephemeral one); returns the runner and port."""
    host, _, port = config.listen.rpartition(":")
    runner = web.AppRunner(build_app(Simulator(config)), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host or "127.0.0.1", int(port))
    await site.start()
    return runner, int(runner.addresses[0][1])
