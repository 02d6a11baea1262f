"""The dashboard's HTTP edge (aiohttp): the page, its scripts, the vendored chart library and a JSON snapshot.

The chart library is vendored into the package (dashboard/vendor/, produced from the npm lock file by
scripts/vendor_chart_library.py), so a checkout or an installed wheel serves it; the page never reaches a CDN,
and shows its numbers and tables without it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from shared.errors import InvalidRequest
from shared.http_errors import error_body, http_status
from shared.pricing.manifest import default_manifest_path
from shared.pricing.model_prices import read_prices

from .core.dashboard_data import dashboard_view, refresh_interval_s
from .core.dashboard_query import DashboardQuery, parse_query
from .core.store import LedgerStore

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboard"
STATIC_DIR = DASHBOARD_DIR / "static"
VENDOR_DIR = DASHBOARD_DIR / "vendor"
CHART_JS = VENDOR_DIR / "chart.umd.js"
DEFAULT_COMPARE = "openai/gpt-4o"  # the comparison model until the page picks another


class Dashboard:
    def __init__(
        self,
        store: LedgerStore,
        logger: structlog.typing.FilteringBoundLogger,
        *,
        window_s: int,
        refresh_s: float,
        vendor_dir: Path = VENDOR_DIR,
        price_age: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self._store = store
        self._price_age = price_age  # how old the routers' base prices are (shared.pricing.price_age)
        self._logger = logger
        self._window_s = window_s
        self._refresh_s = refresh_s
        self._vendor_dir = vendor_dir
        self._runner: web.AppRunner | None = None
        if not (vendor_dir / CHART_JS.name).exists():
            logger.warning("dashboard_chart_library_missing", path=str(vendor_dir), fix="vendor_chart_library.py")
        # Comparison models: the router manifest's priced remote models, read once.
        manifest = default_manifest_path()
        prices = read_prices(manifest) if manifest.exists() else []
        self._prices = {f"{p.provider}/{p.model}": p for p in prices if p.provider != "local"}
        self._default_compare = DEFAULT_COMPARE if DEFAULT_COMPARE in self._prices else next(iter(self._prices), "")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/vendor/{name}", self._vendor)
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

    async def _vendor(self, request: web.Request) -> web.StreamResponse:
        path = self._vendor_dir / request.match_info["name"]
        # A missing library leaves the page without charts, never blank: its numbers and tables need none.
        if path.parent != self._vendor_dir or not path.is_file():
            raise web.HTTPNotFound(text="not vendored: run scripts/vendor_chart_library.py")
        kind = "text/javascript" if path.suffix == ".js" else "text/plain"
        return web.FileResponse(path, headers={"Content-Type": f"{kind}; charset=utf-8"})

    async def _snapshot(self, request: web.Request) -> web.Response:
        try:
            query = parse_query(request.query, default_window_s=self._window_s)
            data = await asyncio.to_thread(self._view, query)  # DuckDB queries, off the event loop
        except InvalidRequest as error:
            return _error(error)
        data["refresh_s"] = refresh_interval_s(query.window_s, self._refresh_s)
        if self._price_age is not None:
            data["prices"] = self._price_age()
        return web.json_response(data)

    def _view(self, query: DashboardQuery) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        compare = self._default_compare
        return dashboard_view(self._store, query, prices=self._prices, default_compare=compare, now_ms=now_ms)


def _error(error: InvalidRequest) -> web.Response:
    """The shared HTTP error body; its `param` names the view's bad parameter (the error's first violation)."""
    status = http_status(error)
    return web.json_response(error_body(error, status), status=status)
