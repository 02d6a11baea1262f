"""Relaying a RouteStream to an HTTP client as server-sent events, framed by one API's writer.

The same relay serves every API: headers go out when the router's first message arrives (so a request that cannot
be routed gets its plain HTTP error status), an error after that becomes the API's own error event, a client that
goes away cancels the router call.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc
import structlog
from aiohttp import web

from services.gateway.core.http_errors import http_status
from shared.errors import BourseError, Internal
from shared.grpc_errors import from_rpc_error


class StreamWriter(Protocol):
    """One API's framing of a routed stream (core/chat_stream.py, core/anthropic_stream.py, ...)."""

    def start(self) -> bytes: ...

    def delta(self, delta: Any) -> bytes: ...

    def finish(self, summary: Any) -> bytes: ...

    def error(self, failure: BourseError, status: int) -> bytes: ...


async def relay(
    call: Any,
    request: web.Request,
    request_id: str,
    writer: StreamWriter,
    *,
    failed: Callable[[BourseError, int], None],
    log: structlog.typing.FilteringBoundLogger,
    on_finish: Callable[[], Awaitable[None]] | None = None,
) -> web.StreamResponse:
    """Relay `call` (a RouteStream call) to the client; `failed` logs an error that ended a started stream,
    `on_finish` runs after the writer framed the end and before the client sees it."""
    try:
        # Wait for the first message so that a routing failure is still a plain HTTP error status.
        try:
            message = await call.read()
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        relayed = functools.partial(_relay, call, message, writer, on_finish=on_finish)
        return await _serve(request, _assigned(message, request_id), relayed, writer.error, failed=failed, log=log)
    finally:
        if not call.done():
            call.cancel()


def _assigned(first: Any, fallback: str) -> str:
    """The id the router assigned (on a stream's first message), for the x-request-id header."""
    assigned = getattr(first, "request_id", "") if first is not grpc.aio.EOF else ""
    return assigned or fallback


async def _serve(
    request: web.Request,
    request_id: str,
    body: Callable[[web.StreamResponse], Awaitable[None]],
    error: Callable[[BourseError, int], bytes],
    *,
    failed: Callable[[BourseError, int], None],
    log: structlog.typing.FilteringBoundLogger,
) -> web.StreamResponse:
    """Send the headers, then `body`; an error after that becomes the API's error event."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "x-request-id": request_id}
    )
    await response.prepare(request)
    try:
        await body(response)
    except (grpc.aio.AioRpcError, BourseError) as exc:
        # Headers are gone: the error becomes an SSE event (a router in this process raises BourseError).
        failure = from_rpc_error(exc) if isinstance(exc, grpc.aio.AioRpcError) else exc
        await response.write(error(failure, http_status(failure)))
        failed(failure, http_status(failure))
    except ConnectionResetError:
        log.debug("client_disconnected", request_id=request_id)
    return response


async def _relay(
    call: Any,
    message: Any,
    writer: StreamWriter,
    response: web.StreamResponse,
    *,
    on_finish: Callable[[], Awaitable[None]] | None,
) -> None:
    head = writer.start()
    if head:
        await response.write(head)
    while message is not grpc.aio.EOF:
        if message.HasField("delta"):
            out = writer.delta(message.delta)
            if out:
                await response.write(out)
        else:
            end = writer.finish(message.summary)
            if on_finish is not None:
                await on_finish()
            await response.write(end)
            return
        message = await call.read()
    await response.write(writer.error(Internal("the router's stream ended without a summary"), 500))


class ChoicesWriter(Protocol):
    """The framing of an `n > 1` stream (core/chat_stream.py's ChoicesStreamWriter)."""

    def delta(self, index: int, delta: Any) -> bytes: ...

    def finish(self, index: int, summary: Any) -> bytes: ...

    def end(self, summaries: list[Any]) -> bytes: ...

    def error(self, failure: BourseError, status: int) -> bytes: ...


async def relay_choices(
    calls: list[Any],
    request: web.Request,
    request_id: str,
    writer: ChoicesWriter,
    *,
    failed: Callable[[BourseError, int], None],
    log: structlog.typing.FilteringBoundLogger,
) -> web.StreamResponse:
    """Relay n RouteStream calls as one stream, interleaved as their messages arrive; one failure ends all."""
    pumps: list[asyncio.Task[None]] = []
    try:
        try:
            firsts = await asyncio.gather(*(call.read() for call in calls))
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
        pumps = [
            asyncio.create_task(_pump(i, call, first, queue))
            for i, (call, first) in enumerate(zip(calls, firsts, strict=True))
        ]
        merged = functools.partial(_merge, queue, len(calls), writer)
        return await _serve(request, _assigned(firsts[0], request_id), merged, writer.error, failed=failed, log=log)
    finally:
        for pump in pumps:
            pump.cancel()
        for call in calls:
            if not call.done():
                call.cancel()


async def _pump(index: int, call: Any, message: Any, queue: asyncio.Queue[tuple[int, Any]]) -> None:
    """Forward one call's messages (up to its summary), or the error that ended it."""
    try:
        while True:
            await queue.put((index, message))
            if message is grpc.aio.EOF or not message.HasField("delta"):
                return
            message = await call.read()
    except grpc.aio.AioRpcError as error:
        await queue.put((index, from_rpc_error(error)))
    except BourseError as error:
        await queue.put((index, error))


async def _merge(
    queue: asyncio.Queue[tuple[int, Any]], n: int, writer: ChoicesWriter, response: web.StreamResponse
) -> None:
    """Write the calls' messages as they come; a call's error ends the whole stream."""
    summaries: list[Any] = [None] * n
    finished = 0
    while finished < n:
        index, message = await queue.get()
        if isinstance(message, BourseError):
            raise message
        if message is grpc.aio.EOF:
            raise Internal("the router's stream ended without a summary")
        if message.HasField("delta"):
            await response.write(writer.delta(index, message.delta))
        else:
            summaries[index] = message.summary
            finished += 1
            await response.write(writer.finish(index, message.summary))
    await response.write(writer.end(summaries))
