"""Serving the gateway inside the router's process: calls go to the RouterService servicer directly.

`OpenAIHttpApi` takes anything with the stub's Route / RouteStream / ListModels; `DirectRouter` offers them over
a servicer object in the same process, with no gRPC hop and no serialisation (bench.gateway_placement measures
what that saves). Errors arrive as the BourseError the servicer raised, which the HTTP layer maps as usual.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import grpc


class RouterServicer(Protocol):
    async def Route(self, request: Any, context: Any) -> Any: ...

    def RouteStream(self, request: Any, context: Any) -> AsyncIterator[Any]: ...

    async def ListModels(self, request: Any, context: Any) -> Any: ...


class CallDeadline:
    """The one part of a gRPC servicer context the router reads: the time left before the deadline."""

    def __init__(self, timeout_s: float | None) -> None:
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())


class DirectStream:
    """The part of a grpc.aio stream call the gateway uses (read / done / cancel), over the servicer's generator."""

    def __init__(self, messages: AsyncIterator[Any]) -> None:
        self._messages = messages
        self._done = False

    async def read(self) -> Any:
        try:
            return await anext(self._messages)
        except StopAsyncIteration:
            self._done = True
            return grpc.aio.EOF
        except BaseException:
            self._done = True
            raise

    def done(self) -> bool:
        return self._done

    def cancel(self) -> bool:
        # The generator runs inside the caller's task: cancelling that task already stops it; here we only
        # make sure nothing reads on.
        self._done = True
        return True


class DirectRouter:
    """The RouterService stub interface over a servicer in this process."""

    def __init__(self, servicer: RouterServicer) -> None:
        self._servicer = servicer

    async def Route(self, request: Any, timeout: float | None = None) -> Any:  # noqa: ASYNC109 -- the stub's signature
        return await self._servicer.Route(request, CallDeadline(timeout))

    def RouteStream(self, request: Any, timeout: float | None = None) -> DirectStream:
        return DirectStream(self._servicer.RouteStream(request, CallDeadline(timeout)))

    async def ListModels(self, request: Any, timeout: float | None = None) -> Any:  # noqa: ASYNC109 -- as above
        return await self._servicer.ListModels(request, CallDeadline(timeout))
