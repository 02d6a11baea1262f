"""gRPC interceptors that carry W3C trace context between services and open a SERVER span per call.

Installed once, by `shared.serving.new_server` and `insecure_channel`, when the service has a `Tracing`; without
one nothing here is imported. Health checks and reflection get no spans.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import structlog

from shared.tracing import Tracing, current_trace_id

Handler = Callable[[Any, Any], Any]
_PROPAGATED = frozenset({"traceparent", "tracestate"})


class TracingServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Continues the caller's trace (or starts one) around each RPC; the trace id rides on the log context."""

    def __init__(self, tracing: Tracing) -> None:
        self._tracing = tracing
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}  # built once per method, as in ErrorMappingInterceptor

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith("/grpc."):
            return handler
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = self._wrap(handler, method)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        name = method.lstrip("/")
        service, _, rpc = name.rpartition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc}
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, name, attributes),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, name, attributes),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _parent(self, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        carrier = {key: value for key, value in context.invocation_metadata() or () if key in _PROPAGATED}
        return self._tracing.extract(carrier)

    def _unary(self, behavior: Handler, name: str, attributes: dict[str, str]) -> Handler:
        async def traced(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            with (
                self._tracing.server_span(name, self._parent(context), attributes),
                structlog.contextvars.bound_contextvars(trace_id=current_trace_id()),
            ):
                return await behavior(request, context)

        return traced

    def _stream(self, behavior: Handler, name: str, attributes: dict[str, str]) -> Handler:
        async def traced(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            with (
                self._tracing.server_span(name, self._parent(context), attributes),
                structlog.contextvars.bound_contextvars(trace_id=current_trace_id()),
            ):
                async for item in behavior(request, context):
                    yield item

        return traced


def _with_trace_context(tracing: Tracing, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    carrier: dict[str, str] = {}
    tracing.inject(carrier)
    if not carrier:  # no current span: nothing to carry
        return details
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    for key, value in carrier.items():
        metadata[key] = value
    return details._replace(metadata=metadata)


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, tracing: Tracing) -> None:
        self._tracing = tracing

    async def intercept_unary_unary(self, continuation: Any, details: grpc.aio.ClientCallDetails, request: Any) -> Any:
        return await continuation(_with_trace_context(self._tracing, details), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, tracing: Tracing) -> None:
        self._tracing = tracing

    async def intercept_unary_stream(self, continuation: Any, details: grpc.aio.ClientCallDetails, request: Any) -> Any:
        return await continuation(_with_trace_context(self._tracing, details), request)


def client_interceptors(tracing: Tracing) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors that put the current trace context into every outgoing call's metadata."""
    return [_UnaryUnary(tracing), _UnaryStream(tracing)]
