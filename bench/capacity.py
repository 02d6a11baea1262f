"""Capacity: requests per second per CPU core of the router, the provider-adapter and the gateway.

    python -m bench.capacity [--seconds 20] [--concurrency 32]

Every service runs as its own process, started as `bourse up` starts it (services.cli.stack), the simulator at
0 ms delay standing in for the provider. Two paths are loaded at a fixed concurrency:
  route:   client -> router (gRPC Route) -> provider-adapter -> simulator
  (a second, idle router shows what each replica pays to consume every other replica's telemetry)
  gateway: client -> gateway (HTTP /v1/chat/completions) -> router -> provider-adapter -> simulator
Each process's CPU time (utime + stime from /proc) is read before and after; requests per CPU-second of a
process is its capacity per core, independent of how loaded the machine was (wall-clock throughput is printed
too, but on a shared machine it says more about the neighbours). Cache and local tier are off, so every request
takes the remote path; NATS message rates are counted from the server's own statistics (/varz).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as pb_grpc

from services.cli.stack import GATEWAY, PROVIDER_ADAPTER, ROUTER, SIMULATOR, launch_service
from shared.processes import Child, NatsServer, Stack, free_port
from shared.serving import insecure_channel

PROMPT = "In one sentence, what does a cost-aware LLM router do?"
TICKS = os.sysconf("SC_CLK_TCK")
MEASURED = ("router", "router_idle", "provider_adapter", "gateway", "simulator", "nats")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


@dataclass
class PathResult:
    path: str
    requests: int
    errors: int
    wall_s: float
    cpu_s: dict[str, float]
    nats_msgs_in: int

    def per_core(self, service: str) -> float:
        spent = self.cpu_s.get(service, 0.0)
        return self.requests / spent if spent > 0 else float("inf")


async def load(call: Callable[[], Awaitable[bool]], seconds: float, concurrency: int) -> tuple[int, int]:
    done = errors = 0
    stop_at = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, errors
        while time.monotonic() < stop_at:
            if await call():
                done += 1
            else:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, errors


async def nats_in_msgs(monitor_port: int) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{monitor_port}/varz") as reply:
        return int((await reply.json())["in_msgs"])


async def measure(
    name: str,
    call: Callable[[], Awaitable[bool]],
    *,
    children: dict[str, Child],
    monitor_port: int,
    seconds: float,
    concurrency: int,
) -> PathResult:
    await load(call, 2.0, concurrency)  # warm-up: connections, JIT-free but caches and pools
    pids = {svc: child.proc.pid for svc, child in children.items() if child.proc is not None}
    before = {svc: cpu_s(pid) for svc, pid in pids.items()}
    msgs_before = await nats_in_msgs(monitor_port)
    started = time.monotonic()
    done, errors = await load(call, seconds, concurrency)
    wall = time.monotonic() - started
    spent = {svc: cpu_s(pid) - before[svc] for svc, pid in pids.items()}
    msgs = await nats_in_msgs(monitor_port) - msgs_before
    return PathResult(name, done, errors, wall, spent, msgs)


async def run(seconds: float, concurrency: int) -> list[PathResult]:
    with tempfile.TemporaryDirectory(prefix="bourse-capacity-") as tmp:
        base = Path(tmp)
        nats = NatsServer(data_dir=base / "nats", log_dir=base / "log", monitor_port=free_port())
        stack = Stack(log_dir=base / "log")
        try:
            nats.start()
            assert nats.child is not None
            stack.adopt(nats.child)
            return await _run(stack, nats, seconds, concurrency)
        finally:
            stack.stop()


async def _run(stack: Stack, nats: NatsServer, seconds: float, concurrency: int) -> list[PathResult]:
    assert nats.child is not None
    monitor_port = nats.monitor_port
    quiet = "warning"
    no_keys = {name: "" for name in os.environ if name.endswith("_API_KEY")}  # never a real provider
    listens = {name: f"127.0.0.1:{free_port()}" for name in ("simulator", "adapter", "router", "gateway")}
    children: dict[str, Child] = {"nats": nats.child}
    children["simulator"] = await stack.start(
        launch_service(SIMULATOR, listens["simulator"], {"BOURSE_SIMULATOR_LOG_LEVEL": quiet})
    )
    children["provider_adapter"] = await stack.start(
        launch_service(
            PROVIDER_ADAPTER,
            listens["adapter"],
            {
                "BOURSE_ADAPTER_SIMULATOR_URL": f"http://{listens['simulator']}",
                "BOURSE_ADAPTER_LOG_LEVEL": quiet,
                **no_keys,
            },
        )
    )
    children["router"] = await stack.start(
        launch_service(
            ROUTER,
            listens["router"],
            {
                "BOURSE_ROUTER_NATS_URL": nats.url,
                "BOURSE_ROUTER_ADAPTER_TARGET": listens["adapter"],
                "BOURSE_ROUTER_LOG_LEVEL": quiet,
                "BOURSE_ROUTER_RATE_LIMIT_SHARE": "0",  # measure overhead, not the account limits
            },
        )
    )
    # A second router that gets no requests: its CPU is what every replica pays for consuming the telemetry of
    # all the others (live statistics), the cost that grows with the total request rate.
    children["router_idle"] = await stack.start(
        launch_service(
            ROUTER,
            f"127.0.0.1:{free_port()}",
            {
                "BOURSE_ROUTER_NATS_URL": nats.url,
                "BOURSE_ROUTER_ADAPTER_TARGET": listens["adapter"],
                "BOURSE_ROUTER_LOG_LEVEL": quiet,
                "BOURSE_ROUTER_RATE_LIMIT_SHARE": "0",  # measure overhead, not the account limits
            },
            name="router_idle",
        )
    )
    children["gateway"] = await stack.start(
        launch_service(
            GATEWAY,
            listens["gateway"],
            {
                "BOURSE_GATEWAY_ROUTER": listens["router"],
                "BOURSE_GATEWAY_NATS_URL": nats.url,
                "BOURSE_GATEWAY_REQUIRE_API_KEY": "false",
                "BOURSE_GATEWAY_LOG_LEVEL": quiet,
            },
        )
    )
    results = []
    async with insecure_channel(listens["router"]) as channel:
        stub = pb_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]
        chat = chat_pb2.ChatRequest(
            messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=PROMPT)])],
            sampling=chat_pb2.SamplingParams(max_tokens=32),
        )

        async def route_call() -> bool:
            request = pb.RouteRequest(
                chat=chat,
                constraints=pb.RoutingConstraints(cache=pb.CachePolicy(no_cache=True, no_store=True)),
                context=pb.RequestContext(request_id=uuid.uuid4().hex, tenant_id="bench"),
            )
            try:
                await stub.Route(request, timeout=30)
            except Exception:
                return False
            return True

        results.append(
            await measure(
                "route",
                route_call,
                children=children,
                monitor_port=monitor_port,
                seconds=seconds,
                concurrency=concurrency,
            )
        )

    body = json.dumps(
        {"model": "bourse/cheapest", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 32}
    ).encode()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"http://{listens['gateway']}/v1/chat/completions"

        async def gateway_call() -> bool:
            headers = {"Content-Type": "application/json", "X-Request-Id": uuid.uuid4().hex}
            try:
                async with session.post(url, data=body, headers=headers) as reply:
                    await reply.read()
                    return reply.status == 200
            except aiohttp.ClientError:
                return False

        results.append(
            await measure(
                "gateway",
                gateway_call,
                children=children,
                monitor_port=monitor_port,
                seconds=seconds,
                concurrency=concurrency,
            )
        )
    return results


def report(results: list[PathResult], concurrency: int) -> None:
    print(f"concurrency {concurrency}, {os.cpu_count()} cores (shared: numbers per CPU-second, not per wall second)")
    for result in results:
        print(
            f"\n{result.path}: {result.requests} ok, {result.errors} errors in {result.wall_s:.1f}s "
            f"({result.requests / result.wall_s:.0f} req/s wall), NATS in-msgs {result.nats_msgs_in} "
            f"({result.nats_msgs_in / max(result.requests, 1):.2f} per request)"
        )
        for service in MEASURED:
            spent = result.cpu_s.get(service, 0.0)
            if spent >= 0.05:  # on this path (the gateway idles during the route path)
                print(
                    f"  {service:<17} cpu {spent:6.2f}s  {1000 * spent / max(result.requests, 1):6.3f} ms/request"
                    f"  {result.per_core(service):8.0f} req/s per core"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    report(asyncio.run(run(args.seconds, args.concurrency)), args.concurrency)


if __name__ == "__main__":
    main()
