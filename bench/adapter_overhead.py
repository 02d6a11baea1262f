"""What the adapter adds to a provider call: gRPC Complete through the adapter vs the same HTTP call made directly.

Simulator and adapter run as their own processes (simulator at 0 ms). Reported per dialect: p50/p99 of the direct
HTTP call, of Complete through the adapter, the difference, and the adapter process's CPU per call (from
/proc/<pid>/stat). Run: python -m bench.adapter_overhead [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from bourse.provider.v1 import provider_service_pb2 as pb
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from bench.adapter_cpu import PREFIX, PROVIDER_OF, sample_chat
from bench.adapter_http_clients import wait_up
from services.provider_adapter.api import ENCODER, Call, Quirks, dialect_registry
from shared.processes import Child, free_port, python_module, wait_healthy
from shared.serving import insecure_channel

Op = Callable[[], Awaitable[object]]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def timed(op: Op, calls: int) -> list[float]:
    for _ in range(50):
        await op()
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        await op()
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


async def run(sim_url: str, adapter_target: str, adapter_pid: int, calls: int) -> None:
    channel = insecure_channel(adapter_target)
    stub = pb_grpc.ProviderServiceStub(channel)
    print(
        f"{'dialect':<20} {'direct p50':>10} {'adapter p50':>11} {'overhead p50':>12} {'p99 direct/adapter':>19} "
        f"{'adapter CPU us':>14}"
    )
    async with aiohttp.ClientSession() as session:
        for name, dialect in dialect_registry().items():
            provider = PROVIDER_OF[name]
            wire = dialect.build_request(
                Call(provider=provider, model="bench", chat=sample_chat()), Quirks(), stream=False
            )
            url = f"{sim_url}/{provider}{PREFIX[name]}{wire.path}"
            body = ENCODER.encode(wire.body)
            headers = {"Content-Type": "application/json", **wire.headers}

            async def direct(url: str = url, body: bytes = body, headers: dict[str, str] = headers) -> object:
                async with session.post(url, data=body, headers=headers) as response:
                    return await response.read()

            request = pb.CompleteRequest(provider=provider, model="bench", chat=sample_chat())

            async def through_adapter(request: pb.CompleteRequest = request) -> object:
                return await stub.Complete(request)

            plain = await timed(direct, calls)
            cpu_before = cpu_seconds(adapter_pid)
            routed = await timed(through_adapter, calls)
            cpu_us = (cpu_seconds(adapter_pid) - cpu_before) / (calls + 50) * 1e6
            p50_plain, p50_routed = statistics.median(plain), statistics.median(routed)
            p99 = f"{plain[int(calls * 0.99) - 1]:.2f}/{routed[int(calls * 0.99) - 1]:.2f}"
            print(
                f"{name:<20} {p50_plain:>10.2f} {p50_routed:>11.2f} {p50_routed - p50_plain:>12.2f} {p99:>19} "
                f"{cpu_us:>14.0f}"
            )
    await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    sim_port, adapter_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    with tempfile.TemporaryDirectory() as tmp:
        simulator = Child(
            "simulator",
            python_module("services.simulator"),
            Path(tmp) / "sim.log",
            env={"BOURSE_SIMULATOR_LISTEN": f"127.0.0.1:{sim_port}"},
        )
        adapter = Child(
            "adapter",
            python_module("services.provider_adapter"),
            Path(tmp) / "adapter.log",
            env={
                "BOURSE_ADAPTER_LISTEN": f"127.0.0.1:{adapter_port}",
                "BOURSE_ADAPTER_SIMULATOR_URL": sim_url,
                "BOURSE_ADAPTER_LOG_LEVEL": "warning",
                "OPENAI_API_KEY": "",
                "ANTHROPIC_API_KEY": "",
                "GEMINI_API_KEY": "",
                "GOOGLE_API_KEY": "",
            },
        )
        simulator.start()
        adapter.start()
        try:
            asyncio.run(wait_up(f"{sim_url}/healthz"))
            target = f"127.0.0.1:{adapter_port}"
            asyncio.run(wait_healthy(target, "bourse.provider.v1.ProviderService", child=adapter))
            assert adapter.proc is not None
            asyncio.run(run(sim_url, target, adapter.proc.pid, args.calls))
        finally:
            adapter.stop()
            simulator.stop()


if __name__ == "__main__":
    main()
