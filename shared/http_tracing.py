"""aiohttp middleware that continues the caller's W3C trace (or starts one) around each HTTP request.

Used by the gateway (and the simulator, which plays the upstream provider) only when tracing is on. A missing or
malformed `traceparent` is ignored: the request gets a new trace and is served as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry.trace import Status, StatusCode

from shared.genai_attributes import BOURSE_REQUEST_ID
from shared.tracing import Tracing, current_trace_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_UNTRACED = frozenset({"/healthz", "/metrics"})


def tracing_middleware(tracing: Tracing) -> Middleware:
    """A SERVER span per request named by its route (`POST /v1/chat/completions`), with the request id on it."""

    @web.middleware
    async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in _UNTRACED:
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        attributes = {"http.request.method": request.method, "http.route": route, "url.path": request.path}
        parent = tracing.extract(request.headers)
        with (
            tracing.server_span(f"{request.method} {route}", parent, attributes) as span,
            structlog.contextvars.bound_contextvars(trace_id=current_trace_id()),
        ):
            response = await handler(request)
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:  # a server-side failure (HTTP semantic conventions: 4xx is the client's)
                span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status}"))
            request_id = response.headers.get("x-request-id")
            if request_id:
                span.set_attribute(BOURSE_REQUEST_ID, request_id)
            return response

    return traced
