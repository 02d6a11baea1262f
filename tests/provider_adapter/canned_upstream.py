"""A real HTTP server that answers every request with a response the test chose (documented error bodies)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Canned:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"
    content_type: str = "application/json"
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def answer(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, content_type: str = "application/json"
    ) -> None:
        self.status, self.body, self.headers, self.content_type = status, body, headers or {}, content_type

    async def handle(self, request: web.Request) -> web.Response:
        self.seen_headers.append(dict(request.headers))
        await request.read()
        return web.Response(status=self.status, body=self.body, headers=self.headers, content_type=self.content_type)


async def start_canned(canned: Canned) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", canned.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])
