"""The one service lifecycle: start runs its steps then reports SERVING, stop closes in reverse, signals and
start-up failures end `run_until_signal` with the right exit code, and `python -m` of a service uses it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2

from shared.lifecycle import EXIT_START_FAILED, run_until_signal
from shared.logging import get_logger
from shared.processes import free_port
from shared.serving import ServiceServer, new_server
from tests.support.eventually import eventually_sync

NAME = "test.Lifecycle"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def server() -> AsyncIterator[ServiceServer]:
    service = new_server(listen="127.0.0.1:0", service_names=[NAME], logger=get_logger("test"))
    yield service
    await service.stop(0)


async def status(service: ServiceServer) -> int:
    response = await service.health.Check(health_pb2.HealthCheckRequest(service=NAME), None)
    return int(response.status)


async def test_start_runs_the_steps_in_order_then_reports_serving(server: ServiceServer) -> None:
    seen: list[tuple[str, int]] = []

    async def step(name: str) -> None:
        seen.append((name, await status(server)))

    server.startup.extend([lambda: step("prices"), lambda: step("warm")])
    await server.start()
    assert seen == [("prices", NOT_SERVING), ("warm", NOT_SERVING)]
    assert await status(server) == SERVING


async def test_a_service_loading_in_the_background_is_not_serving_after_start(server: ServiceServer) -> None:
    loaded = asyncio.Event()

    async def load() -> None:
        await loaded.wait()
        await server.set_serving()

    server.loading = asyncio.get_running_loop().create_task(load())
    await server.start()
    assert await status(server) == NOT_SERVING
    loaded.set()
    await server.loading
    assert await status(server) == SERVING


async def test_stop_closes_in_reverse_order_and_a_failing_closer_does_not_stop_the_rest(
    server: ServiceServer,
) -> None:
    closed: list[str] = []

    def closer(name: str, *, fail: bool = False) -> Callable[[], Awaitable[None]]:
        async def close() -> None:
            closed.append(name)
            if fail:
                raise RuntimeError(f"{name} failed")

        return close

    server.closers.extend([closer("store"), closer("nats", fail=True), closer("clients")])
    await server.start()
    await server.stop(0)
    assert closed == ["clients", "nats", "store"]
    assert await status(server) == NOT_SERVING


async def test_a_failed_background_start_ends_serving_with_exit_code_1(server: ServiceServer) -> None:
    async def load() -> None:
        raise RuntimeError("the model cannot be read")

    server.loading = asyncio.get_running_loop().create_task(load())
    await server.start()
    code = await asyncio.wait_for(run_until_signal(server, get_logger("test"), grace_s=0, drain_s=0), 10)
    assert code == EXIT_START_FAILED
    assert await status(server) == NOT_SERVING


def _run_simulator(env: dict[str, str]) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BOURSE_SIMULATOR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "services.simulator"],
        env={**base, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_service_process_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    child = _run_simulator({"BOURSE_SIMULATOR_LISTEN": f"127.0.0.1:{port}", "BOURSE_SIMULATOR_SHUTDOWN_GRACE_S": "1"})
    try:

        def listening() -> bool:
            assert child.poll() is None, child.communicate()[1]  # a crashed child fails at once
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        eventually_sync(listening, timeout_s=30, what="the simulator to listen", retry_on=(OSError,))
        child.send_signal(signal.SIGTERM)
        _out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    assert "shutting_down" in err and "stopped" in err


def test_a_config_typo_exits_2_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "simulator.json"
    config.write_text('{"shutdown_grace": 1}')
    child = _run_simulator({"BOURSE_SIMULATOR_CONFIG": str(config)})
    _out, err = child.communicate(timeout=30)
    assert child.returncode == 2
    assert err.startswith("simulator: ") and "shutdown_grace" in err
