"""Readiness checks the tests wait on: an HTTP endpoint answering 200, a gRPC health status."""

from __future__ import annotations

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.processes import Child
from tests.support.eventually import eventually


async def wait_http_ok(url: str, *, child: Child | None = None, timeout_s: float = 30.0) -> None:
    """Wait until GET `url` answers 200; fail at once if `child` (the process serving it) exits."""
    async with aiohttp.ClientSession() as session:

        async def ok() -> bool:
            if child is not None:
                assert child.alive, child.fail("exited during start-up")
            async with session.get(url) as response:
                return response.status == 200

        def what() -> str:
            return f"{url} to answer 200" + (f" ({child.fail('not ready')})" if child is not None else "")

        await eventually(ok, timeout_s=timeout_s, interval_s=0.05, what=what, retry_on=(aiohttp.ClientConnectionError,))


async def wait_health_status(
    channel: grpc.aio.Channel, want: int, *, service: str = "", timeout_s: float = 30.0
) -> None:
    """Wait until the gRPC health of `service` ("" = overall) is `want` (a health_pb2 status)."""
    stub = health_pb2_grpc.HealthStub(channel)  # type: ignore[no-untyped-call]
    last: int | None = None

    async def reached() -> bool:
        nonlocal last
        last = (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status
        return last == want

    await eventually(reached, timeout_s=timeout_s, what=lambda: f"health status {want} (last seen: {last})")
