"""The one place where Bourse errors become gRPC statuses, and back.

Server side: `abort_with(context, error)` sends a google.rpc.Status with ErrorInfo (domain "bourse", the stable
reason, metadata incl. "retryable"), RetryInfo when a delay is known, and BadRequest field violations.
`ErrorMappingInterceptor` applies it to every handler, so servicers just raise.
Client side: `from_rpc_error(err)` turns a received status back into the same BourseError.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
import structlog
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from shared.error_catalogue import PLAIN_STATUS_REASON
from shared.errors import BourseError, FieldViolation, Internal, InvalidRequest, Kind, Reason
from shared.input_bounds import cap_violations, clip_message
from shared.metrics import RpcMetrics

DOMAIN = "bourse"

# A reason's gRPC status is its kind's: Kind names are gRPC code names (shared/error_catalogue.py).
_CODES: dict[Kind, grpc.StatusCode] = {kind: grpc.StatusCode[kind.name] for kind in Kind}
_KINDS: dict[grpc.StatusCode, Kind] = {code: kind for kind, code in _CODES.items()}


def status_code(kind: Kind) -> grpc.StatusCode:
    return _CODES[kind]


def to_status(error: BourseError) -> grpc.Status:
    """Build the rich status for an error. Violations, message and metadata are capped (shared.input_bounds): the
    status travels in headers, and one that outgrows the peer's header limit arrives as RESOURCE_EXHAUSTED."""
    code = _CODES[error.kind]
    details = []
    metadata = {k[:64]: clip_message(v) for k, v in list(error.metadata.items())[:16]}
    metadata["retryable"] = "true" if error.retryable else "false"
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata)
    details.append(info)
    if error.retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_s * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    if error.violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in cap_violations(error.violations)
                ]
            )
        )
    status = status_pb2.Status(code=code.value[0], message=clip_message(error.message))
    for detail in details:
        status.details.add().Pack(detail)
    return rpc_status.to_status(status)


# gRPC retry pushback: a negative value tells the client's retry policy not to retry this call.
NO_CHANNEL_RETRY = ("grpc-retry-pushback-ms", "-1")


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: BourseError) -> None:
    """Abort the current RPC with the rich status of `error` (raises grpc's AbortError)."""
    status = to_status(error)
    # An answer from the application, not a lost connection: the channel's retry policy must not repeat the
    # call (a provider error would be paid for again); the caller decides. See shared.serving.
    trailing = (*status.trailing_metadata, NO_CHANNEL_RETRY)
    await context.abort(status.code, status.details, trailing)


def from_rpc_error(error: grpc.aio.AioRpcError) -> BourseError:
    """Rebuild the BourseError a Bourse server sent (or a generic one for a plain status)."""
    kind = _KINDS.get(error.code(), Kind.UNAVAILABLE)
    plain = PLAIN_STATUS_REASON[kind]  # what a status without Bourse details stands for
    reason: str = plain
    retryable = plain.retryable
    metadata: dict[str, str] = {}
    retry_after: float | None = None
    violations: list[FieldViolation] = []
    rich = _rich_status(error)
    if rich is not None:
        for detail in rich.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
                metadata = dict(info.metadata)
                retryable = metadata.pop("retryable", "false") == "true"
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_after = retry.retry_delay.ToNanoseconds() / 1e9
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
    return BourseError.received(
        error.details() or error.code().name,
        reason=reason,
        kind=kind,
        retryable=retryable,
        retry_after_s=retry_after,
        metadata=metadata,
        violations=violations,
    )


def _rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None


Handler = Callable[..., Any]


class _MethodCount:
    """One method's series of RpcMetrics, bound once: requests, latency, and errors by reason."""

    def __init__(self, metrics: RpcMetrics, method: str) -> None:
        self._requests = metrics.requests.labels(method)
        self._latency = metrics.latency.labels(method)
        self._errors = metrics.errors
        self._method = method

    def done(self, started: float, reason: str | None) -> None:
        self._requests.inc()
        self._latency.observe(time.perf_counter() - started)
        if reason is not None:
            self._errors.labels(self._method, reason).inc()


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Maps BourseError raised by any handler to its rich status; anything else becomes INTERNAL (logged).

    With `metrics`, it also counts every RPC of `counted_services` (requests, latency, errors by reason), so no
    servicer does its own accounting; health checks and reflection are not counted.
    """

    def __init__(
        self,
        logger: structlog.typing.FilteringBoundLogger,
        *,
        metrics: RpcMetrics | None = None,
        counted_services: Iterable[str] = (),
    ) -> None:
        self._log = logger
        self._metrics = metrics
        self._counted = frozenset(counted_services)
        # Wrapped handlers, built once per method (a server's handlers are fixed once it starts): nothing is
        # created per call on the hot path.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = self._wrap(handler, method)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        service, _, name = method.lstrip("/").rpartition("/")
        count = _MethodCount(self._metrics, name) if self._metrics is not None and service in self._counted else None
        deserializer = _lenient(handler.request_deserializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method, count),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method, count),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _wrap_unary(self, behavior: Handler, method: str, count: _MethodCount | None) -> Handler:
        async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started, reason = time.perf_counter(), None
            try:
                _parsed(request)
                return await behavior(request, context)
            except BourseError as error:
                reason = error.reason
                await abort_with(context, error)
            except Exception as error:  # the boundary: nothing unexpected may leak as a bare traceback
                if _is_abort(error):
                    raise
                reason = Reason.INTERNAL
                self._log.exception("unhandled_error", method=method)
                await abort_with(context, Internal(f"internal error in {method}"))
            finally:
                if count is not None:
                    count.done(started, reason)
            return None

        return wrapper

    def _wrap_stream(self, behavior: Handler, method: str, count: _MethodCount | None) -> Handler:
        if not inspect.isasyncgenfunction(behavior):
            # A handler that writes with context.write() (e.g. Health/Watch) returns a coroutine.
            return self._wrap_unary(behavior, method, count)

        async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started, reason = time.perf_counter(), None
            try:
                _parsed(request)
                async for item in behavior(request, context):
                    yield item
            except BourseError as error:
                reason = error.reason
                await abort_with(context, error)
            except Exception as error:  # the boundary, as in _wrap_unary
                if _is_abort(error):
                    raise
                reason = Reason.INTERNAL
                self._log.exception("unhandled_error", method=method)
                await abort_with(context, Internal(f"internal error in {method}"))
            finally:
                if count is not None:
                    count.done(started, reason)

        return wrapper


class Undecodable:
    """A request message that did not parse (e.g. a string field that is not UTF-8): INVALID_ARGUMENT, not the
    INTERNAL grpc answers when a deserializer raises."""

    __slots__ = ("detail",)

    def __init__(self, detail: str) -> None:
        self.detail = detail

    def error(self) -> InvalidRequest:
        return InvalidRequest(
            f"the request message does not parse: {self.detail}",
            reason=Reason.INVALID_ENCODING,
            violations=[FieldViolation("request", "not a valid protobuf message (strings must be UTF-8)")],
        )


def _parsed(request: Any) -> None:
    if isinstance(request, Undecodable):
        raise request.error()


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    parse = deserializer

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception as error:  # noqa: BLE001 -- protobuf's DecodeError and friends: the caller's bytes
            return Undecodable(type(error).__name__)

    return deserialize


def _is_abort(error: BaseException) -> bool:
    # context.abort raises grpc's AbortError; let it (and other grpc control flow) through untouched.
    return isinstance(error, grpc.aio.BaseError | grpc.aio.AioRpcError)
