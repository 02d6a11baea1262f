"""Which async HTTP client the adapter should use: overhead per call of aiohttp vs httpx, measured.

The simulator runs as its own process (0 ms latency), so the CPU time measured here is the client's alone.
Both clients keep one pooled connection set, created once, as the adapter does. Reported: wall-clock p50/p99
per call and client CPU per call, sequentially and at concurrency 16.
Run: python -m bench.adapter_http_clients [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx2 as httpx

from shared.processes import Child, free_port, python_module

BODY = (
    b'{"model":"bench","messages":[{"role":"system","content":"Be brief."},'
    b'{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":20}'
)
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
Post = Callable[[], Awaitable[bytes]]


async def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise RuntimeError("simulator did not start")


async def measure(post: Post, calls: int, concurrency: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, client CPU us per call)."""
    for _ in range(50):
        await post()  # warm the pool
    latencies: list[float] = []
    queue = iter(range(calls))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            await post()
            latencies.append((time.perf_counter() - started) * 1000)

    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu_us = (time.process_time() - cpu) / calls * 1e6
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1], cpu_us


async def run(url: str, calls: int) -> None:
    endpoint = f"{url}/openai/v1/chat/completions"
    connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def aiohttp_post() -> bytes:
            async with session.post(endpoint, data=BODY, headers=HEADERS) as response:
                return await response.read()

        aio = {c: await measure(aiohttp_post, calls, c) for c in (1, 16)}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits) as client:

        async def httpx_post() -> bytes:
            response = await client.post(endpoint, content=BODY, headers=HEADERS)
            return response.content

        hx = {c: await measure(httpx_post, calls, c) for c in (1, 16)}
    print(f"{'client':<8} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/call':>12}")
    for name, results in (("aiohttp", aio), (f"httpx {httpx.__version__}", hx)):
        for concurrency, (p50, p99, cpu) in results.items():
            print(f"{name:<8} {concurrency:>4} {p50:>8.2f} {p99:>8.2f} {cpu:>12.0f}")
    for concurrency in (1, 16):
        print(f"httpx/aiohttp CPU ratio at concurrency {concurrency}: {hx[concurrency][2] / aio[concurrency][2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        simulator = Child(
            "simulator",
            python_module("services.simulator"),
            Path(tmp) / "simulator.log",
            env={"BOURSE_SIMULATOR_LISTEN": f"127.0.0.1:{port}", "BOURSE_SIMULATOR_LOG_LEVEL": "warning"},
        )
        simulator.start()
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(wait_up(f"{url}/healthz"))
            asyncio.run(run(url, args.calls))
        finally:
            simulator.stop()


if __name__ == "__main__":
    main()
