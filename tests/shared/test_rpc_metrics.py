"""Every service's RPCs are counted once, by the shared server: requests, latency, errors by reason; health
checks are not counted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from shared.errors import Overloaded
from shared.logging import get_logger
from shared.metrics import RpcMetrics
from shared.serving import ServiceServer, insecure_channel, new_server

SERVICE = "test.Metered"


async def _generate(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
    if dict(context.invocation_metadata()).get("full"):
        raise Overloaded("full")
    return empty_pb2.Empty()


async def _score(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
    raise KeyError("bug")


async def _stream(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> AsyncIterator[empty_pb2.Empty]:
    yield empty_pb2.Empty()
    raise Overloaded("full mid-stream")


@pytest.fixture
async def metered() -> AsyncIterator[tuple[ServiceServer, CollectorRegistry]]:
    registry = CollectorRegistry()
    service = new_server(
        listen="127.0.0.1:0",
        service_names=[SERVICE],
        logger=get_logger("test"),
        metrics=RpcMetrics.create(registry, "metered"),
    )
    unary = {"Generate": _generate, "Score": _score}
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(fn, empty_pb2.Empty.FromString, empty_pb2.Empty.SerializeToString)
        for name, fn in unary.items()
    }
    handlers["Stream"] = grpc.unary_stream_rpc_method_handler(
        _stream, empty_pb2.Empty.FromString, empty_pb2.Empty.SerializeToString
    )
    service.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    await service.start()
    yield service, registry
    await service.stop(0)


async def test_requests_errors_and_latency_are_counted_per_method(
    metered: tuple[ServiceServer, CollectorRegistry],
) -> None:
    service, registry = metered
    async with insecure_channel(f"127.0.0.1:{service.port}") as channel:

        def unary(name: str) -> grpc.aio.UnaryUnaryMultiCallable:
            return channel.unary_unary(
                f"/{SERVICE}/{name}", empty_pb2.Empty.SerializeToString, empty_pb2.Empty.FromString
            )

        await unary("Generate")(empty_pb2.Empty())
        with pytest.raises(grpc.aio.AioRpcError):
            await unary("Generate")(empty_pb2.Empty(), metadata=(("full", "1"),))
        with pytest.raises(grpc.aio.AioRpcError):
            await unary("Score")(empty_pb2.Empty())
        stream = channel.unary_stream(
            f"/{SERVICE}/Stream", empty_pb2.Empty.SerializeToString, empty_pb2.Empty.FromString
        )
        with pytest.raises(grpc.aio.AioRpcError):
            async for _ in stream(empty_pb2.Empty()):
                pass
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=SERVICE))
    sample = registry.get_sample_value
    assert sample("bourse_metered_requests_total", {"method": "Generate"}) == 2
    assert sample("bourse_metered_errors_total", {"method": "Generate", "reason": "QUEUE_FULL"}) == 1
    assert sample("bourse_metered_errors_total", {"method": "Score", "reason": "INTERNAL"}) == 1
    assert sample("bourse_metered_latency_seconds_count", {"method": "Generate"}) == 2
    assert sample("bourse_metered_errors_total", {"method": "Stream", "reason": "QUEUE_FULL"}) == 1
    assert sample("bourse_metered_requests_total", {"method": "Check"}) is None  # health is not counted
