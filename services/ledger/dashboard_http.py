"""The dashboard's HTTP edge (aiohttp): the page, its script, the vendored chart library and a JSON snapshot.

The chart library is installed at set-up by `npm ci` in services/ledger/dashboard/ and served from there; the
page never reaches a CDN.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import structlog
from aiohttp import web

from .core.dashboard_data import snapshot
from .core.store import LedgerStore

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboard"
STATIC_DIR = DASHBOARD_DIR / "static"
CHART_JS = DASHBOARD_DIR / "node_modules" / "chart.js" / "dist" / "chart.umd.js"
MAX_WINDOW_S = 90 * 24 * 3600
BUCKETS_PER_WINDOW = 60


class Dashboard:
    def __init__(
        self,
        store: LedgerStore,
        logger: structlog.typing.FilteringBoundLogger,
        *,
        window_s: int,
        refresh_s: float,
        price_age: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self._store = store
        self._price_age = price_age  # how old the routers' base prices are (shared.pricing.price_age)
        self._logger = logger
        self._window_s = window_s
        self._refresh_s = refresh_s
        self._runner: web.AppRunner | None = None
        if not CHART_JS.exists():
            logger.warning("dashboard_chart_library_missing", path=str(CHART_JS), fix="npm ci in " + str(DASHBOARD_DIR))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/vendor/chart.umd.js", self._chart_js)
        app.router.add_static("/static/", STATIC_DIR)
        return app

    async def start(self, listen: str) -> int:
        """Serve on `listen` ("host:port", port 0 for an ephemeral one); returns the bound port."""
        host, _, port = listen.rpartition(":")
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host or "127.0.0.1", int(port))
        await site.start()
        server = site._server  # aiohttp exposes the bound socket only here
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else int(port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _chart_js(self, request: web.Request) -> web.StreamResponse:
        if not CHART_JS.exists():
            raise web.HTTPNotFound(text="chart library not installed: run npm ci in services/ledger/dashboard")
        return web.FileResponse(CHART_JS, headers={"Content-Type": "text/javascript"})

    async def _snapshot(self, request: web.Request) -> web.Response:
        try:
            window_s = int(request.query.get("window_s", self._window_s))
        except ValueError:
            return _error(400, "window_s must be an integer number of seconds")
        if not 60 <= window_s <= MAX_WINDOW_S:
            return _error(400, f"window_s must be between 60 and {MAX_WINDOW_S}")
        end_ms = int(time.time() * 1000)
        if "end_ms" in request.query:
            try:
                end_ms = int(request.query["end_ms"])
            except ValueError:
                return _error(400, "end_ms must be epoch milliseconds")
        bucket_ms = max(1000, window_s * 1000 // BUCKETS_PER_WINDOW)
        data = await asyncio.to_thread(
            snapshot, self._store, start_ms=end_ms - window_s * 1000, end_ms=end_ms, bucket_ms=bucket_ms
        )
        data["refresh_s"] = self._refresh_s
        if self._price_age is not None:
            data["prices"] = self._price_age()
        return web.json_response(data)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error"}}, status=status)
