"""The container health check (`python -m shared.processes grpc|http ...`) against real servers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from shared.logging import get_logger
from shared.processes import free_port
from shared.serving import ServiceServer, new_server

pytestmark = pytest.mark.slow  # the probe runs as child processes: seconds each

NAME = "bourse.test.v1.ProbeService"


@pytest.fixture
async def server() -> AsyncIterator[ServiceServer]:
    service = new_server(listen="127.0.0.1:0", service_names=[NAME], logger=get_logger("t"))
    await service.server.start()
    yield service
    await service.stop(0)


async def probe(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.processes", *argv, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    return proc.returncode or 0, err.decode()


async def test_serving_passes_and_not_serving_fails(server: ServiceServer) -> None:
    target = f"127.0.0.1:{server.port}"
    code, err = await probe("grpc", target, NAME)
    assert code == 1 and "was not healthy" in err  # NOT_SERVING until the service says it is ready
    await server.set_serving()
    assert (await probe("grpc", target, NAME))[0] == 0
    assert (await probe("grpc", target))[0] == 0  # overall health
    assert (await probe("grpc", target, "bourse.test.v1.Unknown"))[0] == 1


async def test_nothing_listening_and_bad_usage_fail() -> None:
    assert (await probe("grpc", f"127.0.0.1:{free_port()}"))[0] == 1
    assert (await probe("http", f"http://127.0.0.1:{free_port()}/healthz"))[0] == 1
    code, err = await probe("tcp", "127.0.0.1:1")
    assert code == 2 and "usage" in err
