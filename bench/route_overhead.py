"""Route overhead: latency through Route (client -> router -> provider-adapter -> simulator) minus the latency
of calling the simulator directly over HTTP, p50/p99 at concurrency 1 and 32, simulator at 0 ms delay; router
and adapter CPU time per request; RSS of each process.

    python -m bench.route_overhead [--requests 400] [--concurrency 1 32]

Every service runs as its own process (as in production), started with the same code `bourse up` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as pb_grpc

from shared.processes import Child, NatsServer, free_port, python_module, wait_healthy
from shared.serving import insecure_channel

PROMPT = "In one sentence, what does a cost-aware LLM router do?"
PROVIDER, MODEL = (
    "fireworks",
    "accounts/fireworks/models/llama-v3p1-8b-instruct",
)  # the router's choice for this prompt with the default manifest
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_load(call: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def bench(requests: int, concurrencies: list[int]) -> None:
    work = Path(tempfile.mkdtemp(prefix="bourse-bench-"))
    nats = NatsServer(data_dir=work / "nats")
    nats.start()
    sim_port, adapter_port, router_port = free_port(), free_port(), free_port()
    quiet = {"BOURSE_SIMULATOR_LOG_LEVEL": "warning"}
    sim = Child(
        "simulator",
        python_module("services.simulator"),
        work / "sim.log",
        {**quiet, "BOURSE_SIMULATOR_LISTEN": f"127.0.0.1:{sim_port}"},
    )
    adapter = Child(
        "adapter",
        python_module("services.provider_adapter"),
        work / "adapter.log",
        {
            "BOURSE_ADAPTER_LISTEN": f"127.0.0.1:{adapter_port}",
            "BOURSE_ADAPTER_SIMULATOR_URL": f"http://127.0.0.1:{sim_port}",
            "BOURSE_ADAPTER_LOG_LEVEL": "warning",
        },
    )
    router = Child(
        "router",
        python_module("services.router"),
        work / "router.log",
        {
            "BOURSE_ROUTER_LISTEN": f"127.0.0.1:{router_port}",
            "BOURSE_ROUTER_NATS_URL": nats.url,
            "BOURSE_ROUTER_ADAPTER_TARGET": f"127.0.0.1:{adapter_port}",
            "BOURSE_ROUTER_LOG_LEVEL": "warning",
            "BOURSE_ROUTER_RATE_LIMIT_SHARE": "0",  # measure overhead, not the account limits
        },
    )
    children = [sim, adapter, router]
    try:
        for child in children:
            child.start()
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{sim_port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise sim.fail("was not healthy")
                await asyncio.sleep(0.05)
            await wait_healthy(f"127.0.0.1:{adapter_port}", child=adapter)
            await wait_healthy(f"127.0.0.1:{router_port}", child=router)

            body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 32}
            url = f"http://127.0.0.1:{sim_port}/{PROVIDER}/v1/chat/completions"

            async def direct() -> None:
                async with http.post(url, json=body) as response:
                    await response.read()
                    assert response.status == 200

            channel = insecure_channel(f"127.0.0.1:{router_port}")
            stub = pb_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]
            chat = chat_pb2.ChatRequest(
                messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=PROMPT)])],
                sampling=chat_pb2.SamplingParams(max_tokens=32),
            )

            async def routed() -> None:
                request = pb.RouteRequest(chat=chat, context=pb.RequestContext(request_id=uuid.uuid4().hex))
                response = await stub.Route(request, timeout=10)
                assert response.model == MODEL

            await run_load(direct, 200, 4)  # warm-up: connections, JIT-free but caches and pools
            await run_load(routed, 200, 4)
            print(f"requests per run: {requests}; machine: {os.cpu_count()} cores (shared, loaded)")
            print(
                "| concurrency | direct p50 | direct p99 | Route p50 | Route p99 | overhead p50 | overhead p99"
                " | Route req/s | router CPU/req | adapter CPU/req |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            for concurrency in concurrencies:
                base = await run_load(direct, requests, concurrency)
                cpu_before = {c.name: cpu_s(c.proc.pid) for c in (router, adapter) if c.proc}
                started = time.perf_counter()
                through = await run_load(routed, requests, concurrency)
                elapsed = time.perf_counter() - started
                cpu = {
                    c.name: (cpu_s(c.proc.pid) - cpu_before[c.name]) / requests * 1000
                    for c in (router, adapter)
                    if c.proc
                }
                d50, d99, r50, r99 = pct(base, 0.5), pct(base, 0.99), pct(through, 0.5), pct(through, 0.99)
                print(
                    f"| {concurrency} | {d50:.2f} ms | {d99:.2f} ms | {r50:.2f} ms | {r99:.2f} ms"
                    f" | {r50 - d50:.2f} ms | {r99 - d99:.2f} ms | {requests / elapsed:.0f}"
                    f" | {cpu['router']:.2f} ms | {cpu['adapter']:.2f} ms |"
                )
            print(
                "RSS after the runs: "
                + ", ".join(f"{c.name} {rss_mb(c.proc.pid):.0f} MB" for c in children if c.proc)
                + f"; mean Route latency at the last concurrency {statistics.mean(through):.2f} ms"
            )
            await channel.close()
    finally:
        for child in reversed(children):
            child.stop()
        nats.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    asyncio.run(bench(args.requests, args.concurrency))


if __name__ == "__main__":
    main()
