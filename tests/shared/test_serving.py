"""The shared server: health starts NOT_SERVING, flips on set_serving, Watch streams, reflection answers."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from shared.logging import get_logger
from shared.serving import ServiceServer, insecure_channel, new_server

NAME = "test.Thing"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
async def server() -> AsyncIterator[ServiceServer]:
    service = new_server(listen="127.0.0.1:0", service_names=[NAME], logger=get_logger("test"))
    await service.server.start()
    yield service
    await service.stop(0)


async def test_health_is_not_serving_until_set(server: ServiceServer) -> None:
    async with insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", NAME):
            assert (await stub.Check(health_pb2.HealthCheckRequest(service=name))).status == NOT_SERVING
        await server.set_serving()
        for name in ("", NAME):
            assert (await stub.Check(health_pb2.HealthCheckRequest(service=name))).status == SERVING


async def test_watch_streams_status_changes(server: ServiceServer) -> None:
    async with insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=NAME))
        first = await asyncio.wait_for(call.read(), 5)
        assert first.status == NOT_SERVING
        await server.set_serving()
        second = await asyncio.wait_for(call.read(), 5)
        assert second.status == SERVING
        call.cancel()


async def test_reflection_lists_the_service(server: ServiceServer) -> None:
    async with insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request])):
            names = {s.name for s in reply.list_services_response.service}
            break
    assert {NAME, "grpc.health.v1.Health"} <= names


async def test_stop_reports_not_serving_and_runs_closers(server: ServiceServer) -> None:
    closed: list[str] = []

    async def closer() -> None:
        closed.append("nats")

    server.closers.append(closer)
    await server.set_serving()
    await server.stop(0)
    assert closed == ["nats"]
    assert (await server.health.Check(health_pb2.HealthCheckRequest(service=NAME), None)).status == NOT_SERVING


async def test_a_closer_that_hangs_or_fails_does_not_hold_the_stop(server: ServiceServer) -> None:
    """A closer stuck past its bound (even one swallowing the cancellation) is left behind; the others run."""
    closed: list[str] = []
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # what a library that swallows cancellation does

    async def failing() -> None:
        raise RuntimeError("broken store")

    async def last() -> None:
        closed.append("metrics")

    server.close_timeout_s = 0.2
    server.closers.extend([last, failing, stubborn])  # run in reverse: stubborn, failing, then last
    await asyncio.wait_for(server.stop(0), 10)
    assert closed == ["metrics"]
    release.set()


class _ServerThatNeverStops:
    """A gRPC server whose shutdown never completes (a call whose cancellation the core never finishes)."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    async def stop(self, grace: float | None) -> None:
        self.stopping.set()
        await asyncio.Event().wait()


async def test_a_server_stop_that_never_completes_still_runs_the_closers(server: ServiceServer) -> None:
    stuck = _ServerThatNeverStops()
    closed: list[str] = []

    async def closer() -> None:
        closed.append("nats")

    stuck_service = dataclasses.replace(server, server=stuck, closers=[closer], close_timeout_s=0.2)
    await asyncio.wait_for(stuck_service.stop(0), 10)
    assert stuck.stopping.is_set() and closed == ["nats"]
