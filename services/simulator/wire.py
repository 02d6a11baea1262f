"""HTTP behaviours shared by the simulated dialects: latency, hanging, dropping, SSE framing."""

from __future__ import annotations

import asyncio
import time

import msgspec
from aiohttp import web

ENCODER = msgspec.json.Encoder()


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=ENCODER.encode(body), content_type="application/json", headers=headers)


async def read_json(request: web.Request) -> object:
    """The request body as JSON, or None when it is not valid JSON."""
    try:
        return msgspec.json.decode(await request.read())
    except msgspec.DecodeError:
        return None


async def pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


async def hang(request: web.Request, seconds: float) -> None:
    """Hold the request open without answering (a provider that stopped responding)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.05)


def drop(request: web.Request) -> None:
    """Cut the TCP connection (a provider or proxy that died mid-response)."""
    if request.transport is not None:
        request.transport.abort()


async def start_sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    return response


def sse_event(data: object, event: str | None = None) -> bytes:
    payload = data if isinstance(data, bytes) else ENCODER.encode(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"


# Faults that strike halfway through a stream (for a plain response: a cut connection, or a 500).
MID_STREAM = frozenset({"drop_stream", "stream_error"})


def error_body_now(fault: str | None, *, stream: bool) -> bool:
    """Whether the fault is answered with the provider's error body instead of an answer."""
    return fault is not None and not (stream and fault in MID_STREAM)


async def cut_stream(request: web.Request, response: web.StreamResponse, fault: str | None, error_event: bytes) -> None:
    """End a stream halfway: drop the connection, or send the provider's error event and close cleanly."""
    if fault == "stream_error":
        await response.write(error_event)
        await response.write_eof()
    else:
        drop(request)


async def early_fault(
    request: web.Request, fault: str | None, hang_s: float, *, stream: bool
) -> web.StreamResponse | None:
    """Faults that are not an error body: a hang (timeout), or a dropped connection before any byte."""
    if fault == "timeout":
        await hang(request, hang_s)
        return web.Response(status=504)
    if fault == "drop_stream" and not stream:
        drop(request)
        return web.Response(status=500)
    return None
