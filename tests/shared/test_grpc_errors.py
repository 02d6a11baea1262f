"""Errors raised in a servicer reach a real gRPC client as rich statuses, and decode back unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import empty_pb2

from shared.errors import BudgetExceeded, FieldViolation, InvalidRequest, Kind, UpstreamError
from shared.grpc_errors import from_rpc_error
from shared.logging import get_logger
from shared.serving import ServiceServer, insecure_channel, new_server

RAISES: dict[str, Exception] = {
    "invalid": InvalidRequest(
        "bad request", violations=[FieldViolation("chat.messages", "at least one message is required")]
    ),
    "rate": UpstreamError("slow down", reason="RATE_LIMITED", retry_after_s=1.5, metadata={"provider": "openai"}),
    "budget": BudgetExceeded("daily limit reached", metadata={"limit": "daily"}),
    "bug": ZeroDivisionError("oops"),
}


async def _unary(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
    key = dict(context.invocation_metadata())["case"]
    raise RAISES[key]


async def _stream(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> AsyncIterator[empty_pb2.Empty]:
    yield empty_pb2.Empty()
    raise RAISES["rate"]


@pytest.fixture
async def server() -> AsyncIterator[ServiceServer]:
    service = new_server(listen="127.0.0.1:0", service_names=["test.Errors"], logger=get_logger("test"))
    handler = grpc.method_handlers_generic_handler(
        "test.Errors",
        {
            "Unary": grpc.unary_unary_rpc_method_handler(
                _unary, empty_pb2.Empty.FromString, empty_pb2.Empty.SerializeToString
            ),
            "Stream": grpc.unary_stream_rpc_method_handler(
                _stream, empty_pb2.Empty.FromString, empty_pb2.Empty.SerializeToString
            ),
        },
    )
    service.server.add_generic_rpc_handlers((handler,))
    await service.start()
    yield service
    await service.stop(0)


async def _call(port: int, case: str) -> grpc.aio.AioRpcError:
    async with insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            "/test.Errors/Unary",
            request_serializer=empty_pb2.Empty.SerializeToString,
            response_deserializer=empty_pb2.Empty.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(empty_pb2.Empty(), metadata=(("case", case),))
        return info.value


async def test_invalid_argument_carries_field_violations(server: ServiceServer) -> None:
    error = await _call(server.port, "invalid")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    decoded = from_rpc_error(error)
    assert decoded.kind is Kind.INVALID_ARGUMENT
    assert decoded.reason == "INVALID_REQUEST"
    assert decoded.violations == (FieldViolation("chat.messages", "at least one message is required"),)
    assert decoded.retryable is False


async def test_rate_limit_carries_retry_info_and_reason(server: ServiceServer) -> None:
    error = await _call(server.port, "rate")
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    decoded = from_rpc_error(error)
    assert decoded.reason == "RATE_LIMITED"
    assert decoded.retry_after_s == pytest.approx(1.5)
    assert decoded.retryable is True
    assert decoded.metadata == {"provider": "openai"}


async def test_budget_is_resource_exhausted_and_not_retryable(server: ServiceServer) -> None:
    decoded = from_rpc_error(await _call(server.port, "budget"))
    assert decoded.kind is Kind.RESOURCE_EXHAUSTED
    assert (decoded.reason, decoded.retryable, decoded.metadata["limit"]) == ("BUDGET_EXCEEDED", False, "daily")


async def test_unexpected_exception_becomes_internal_without_detail(server: ServiceServer) -> None:
    error = await _call(server.port, "bug")
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "oops" not in (error.details() or "")
    assert from_rpc_error(error).reason == "INTERNAL"


async def test_error_after_stream_started_is_a_status_not_a_clean_end(server: ServiceServer) -> None:
    async with insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call = channel.unary_stream(
            "/test.Errors/Stream",
            request_serializer=empty_pb2.Empty.SerializeToString,
            response_deserializer=empty_pb2.Empty.FromString,
        )
        received: list[empty_pb2.Empty] = []
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for item in call(empty_pb2.Empty()):
                received.append(item)  # noqa: PERF401 - the list must hold what arrived before the error
    assert len(received) == 1
    assert from_rpc_error(info.value).reason == "RATE_LIMITED"
