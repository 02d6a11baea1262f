"""Gateway overhead over the direct provider: p50/p99 at concurrency 1, 16, 64, throughput, CPU and RSS.

Every service runs in its own process (as deployed), on loopback, against the provider simulator with zero
added latency, so what is measured is Bourse's own cost. Scenarios:
  direct     client -> simulator (the provider's OpenAI-compatible HTTP API)      = the baseline
  bourse     client -> gateway -> router -> provider adapter -> simulator         = the whole of Bourse
  router     client -> router (gRPC) -> provider adapter -> simulator             = Bourse without the gateway
  gateway    client -> gateway -> null router (answers at once)                   = the gateway alone
  hop        client -> null router (gRPC)                                          = one extra gRPC hop
"bourse - direct" is Bourse's overhead; "bourse - router" is what the gateway adds as a separate service, and
"hop" is what placing it inside the router process would save at most.

    python -m bench.gateway_overhead [--requests 600] [--concurrency 1 16 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
import grpc
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from services.gateway.api import KeyStore, issue_key, open_bucket
from shared.events.connect import connect
from shared.logging import configure_logging, get_logger
from shared.processes import Child, NatsServer, free_port, python_module, wait_healthy

CLK_TCK = os.sysconf("SC_CLK_TCK")
MODEL = "openai/gpt-4o-mini"
PROMPT = "Summarise the plot of Hamlet in one sentence."
Call = Callable[[], Awaitable[None]]
# The processes each scenario goes through (their CPU is measured).
SCENARIO_PROCESSES = {
    "direct": ["simulator"],
    "bourse": ["gateway", "router", "adapter", "simulator"],
    "router": ["router", "adapter", "simulator"],
    "gateway": ["gateway_null", "null_router"],
    "hop": ["null_router"],
}


@dataclass
class Result:
    scenario: str
    stream: bool
    concurrency: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    rps: float
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _load(call: Call, concurrency: int, requests: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    remaining = requests

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                await call()
            except Exception:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


def _http_call(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> Call:
    async def call() -> None:
        async with session.post(url, data=body, headers=headers) as response:
            payload = await response.read()
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {payload[:200]!r}")

    return call


def _grpc_call(stub: router_grpc.RouterServiceStub, stream: bool) -> Call:
    request = router_pb2.RouteRequest(
        chat=chat_pb2.ChatRequest(
            messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=PROMPT)])]
        ),
        constraints=router_pb2.RoutingConstraints(allowed_models=[MODEL]),
        context=router_pb2.RequestContext(tenant_id="bench"),
    )
    stream_request = router_pb2.RouteStreamRequest(
        chat=request.chat, constraints=request.constraints, context=request.context
    )

    async def unary() -> None:
        await stub.Route(request, timeout=30)

    async def streamed() -> None:
        async for _ in stub.RouteStream(stream_request, timeout=30):
            pass

    return streamed if stream else unary


@dataclass
class Stack:
    children: dict[str, Child]
    nats: NatsServer
    ports: dict[str, int]
    key: str

    def pids(self, names: list[str]) -> dict[str, int]:
        return {n: self.children[n].proc.pid for n in names if self.children[n].proc is not None}  # type: ignore[union-attr]

    def stop(self) -> None:
        for child in reversed(self.children.values()):
            child.stop()
        self.nats.stop()


async def _wait_http(url: str, child: Child, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if not child.alive:
                raise child.fail("exited during start-up")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise child.fail("did not answer /healthz")


async def start_stack(workdir: Path, scenarios: list[str]) -> Stack:
    nats = NatsServer(data_dir=workdir / "nats")
    nats.start()
    ports = {name: free_port() for name in ("simulator", "adapter", "router", "null_router", "gateway", "gateway_null")}
    no_keys = {name: "" for name in os.environ if name.endswith("_API_KEY")}  # never reach a real provider
    bucket = f"BENCH_KEYS_{secrets.token_hex(3)}"
    nc = await connect([nats.url], get_logger("bench"), name="bench")
    issued = issue_key("bench", "bench")
    await KeyStore(await open_bucket(nc.jetstream(), bucket), get_logger("bench")).put(issued.record)
    await nc.drain()

    def gateway_env(router_port: int, port: int) -> dict[str, str]:
        return {
            "BOURSE_GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "BOURSE_GATEWAY_ROUTER": f"127.0.0.1:{router_port}",
            "BOURSE_GATEWAY_NATS_URL": nats.url,
            "BOURSE_GATEWAY_KEYS_BUCKET": bucket,
            "BOURSE_GATEWAY_LOG_LEVEL": "warning",
        }

    specs: dict[str, tuple[list[str], dict[str, str]]] = {
        "simulator": (
            python_module("services.simulator"),
            {"BOURSE_SIMULATOR_LISTEN": f"127.0.0.1:{ports['simulator']}", "BOURSE_SIMULATOR_LOG_LEVEL": "warning"},
        ),
        "adapter": (
            python_module("services.provider_adapter"),
            {
                "BOURSE_ADAPTER_LISTEN": f"127.0.0.1:{ports['adapter']}",
                "BOURSE_ADAPTER_SIMULATOR_URL": f"http://127.0.0.1:{ports['simulator']}",
                "BOURSE_ADAPTER_LOG_LEVEL": "warning",
                **no_keys,
            },
        ),
        "router": (
            python_module("services.router"),
            {
                "BOURSE_ROUTER_LISTEN": f"127.0.0.1:{ports['router']}",
                "BOURSE_ROUTER_NATS_URL": nats.url,
                "BOURSE_ROUTER_ADAPTER_TARGET": f"127.0.0.1:{ports['adapter']}",
                "BOURSE_ROUTER_LOG_LEVEL": "warning",
                "BOURSE_ROUTER_RATE_LIMIT_SHARE": "0",  # measure overhead, not the account limits
            },
        ),
        "null_router": ([*python_module("bench.gateway_null_router"), str(ports["null_router"])], {}),
        "gateway": (python_module("services.gateway"), gateway_env(ports["router"], ports["gateway"])),
        "gateway_null": (python_module("services.gateway"), gateway_env(ports["null_router"], ports["gateway_null"])),
    }
    children: dict[str, Child] = {}
    stack = Stack(children, nats, ports, issued.key)
    try:
        needed = {name for scenario in scenarios for name in SCENARIO_PROCESSES[scenario]}
        for name, (argv, env) in specs.items():
            if name not in needed:
                continue
            child = Child(name, argv, workdir / f"{name}.log", env=env, cwd=Path.cwd())
            child.start()
            children[name] = child
            if name == "simulator" or name.startswith("gateway"):
                await _wait_http(f"http://127.0.0.1:{ports[name]}/healthz", child)
            else:
                await wait_healthy(f"127.0.0.1:{ports[name]}", child=child)
    except BaseException:
        stack.stop()
        raise
    return stack


async def run(args: argparse.Namespace) -> list[Result]:
    configure_logging("warning")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bourse-bench-") as tmp:
        stack = await start_stack(Path(tmp), args.scenarios)
        try:
            results = await _measure(stack, args)
            rss = {name: round(_rss_mb(pid), 1) for name, pid in stack.pids(list(stack.children)).items()}
            print(f"\nRSS after the run (MB): {rss}")
        finally:
            stack.stop()
    return results


async def _measure(stack: Stack, args: argparse.Namespace) -> list[Result]:
    auth = {"Authorization": f"Bearer {stack.key}", "Content-Type": "application/json"}
    results: list[Result] = []
    router_channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['router']}")
    null_channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['null_router']}")
    for stream in (False, True):
        body = json.dumps(
            {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
        ).encode()
        for concurrency in args.concurrency:
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                calls: dict[str, Call] = {
                    "direct": _http_call(
                        session,
                        f"http://127.0.0.1:{stack.ports['simulator']}/openai/v1/chat/completions",
                        body,
                        {"Content-Type": "application/json", "Authorization": "Bearer sim"},
                    ),
                    "bourse": _http_call(
                        session, f"http://127.0.0.1:{stack.ports['gateway']}/v1/chat/completions", body, auth
                    ),
                    "router": _grpc_call(router_grpc.RouterServiceStub(router_channel), stream),
                    "gateway": _http_call(
                        session,
                        f"http://127.0.0.1:{stack.ports['gateway_null']}/v1/chat/completions",
                        json.dumps(
                            {
                                "model": "bourse/cheapest",
                                "messages": [{"role": "user", "content": PROMPT}],
                                "stream": stream,
                            }
                        ).encode(),
                        auth,
                    ),
                    "hop": _grpc_call(router_grpc.RouterServiceStub(null_channel), stream),
                }
                for scenario in args.scenarios:
                    call = calls[scenario]
                    await _load(call, concurrency, min(args.requests, 50))  # warm-up: connections, caches
                    pids = stack.pids(SCENARIO_PROCESSES[scenario])
                    cpu_before = {name: _cpu_s(pid) for name, pid in pids.items()}
                    requests = args.requests if concurrency > 1 else max(100, args.requests // 3)
                    latencies, errors, wall = await _load(call, concurrency, requests)
                    cpu = {
                        name: round((_cpu_s(pid) - cpu_before[name]) * 1000 / max(1, len(latencies)), 3)
                        for name, pid in pids.items()
                    }
                    result = _result(
                        scenario=scenario,
                        stream=stream,
                        concurrency=concurrency,
                        latencies=latencies,
                        errors=errors,
                        wall=wall,
                        cpu=cpu,
                    )
                    results.append(result)
                    print(_row(result), flush=True)
    await router_channel.close()
    await null_channel.close()
    return results


def _result(
    *,
    scenario: str,
    stream: bool,
    concurrency: int,
    latencies: list[float],
    errors: int,
    wall: float,
    cpu: dict[str, float],
) -> Result:
    ordered = sorted(latencies) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(
        scenario=scenario,
        stream=stream,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        p50_ms=round(statistics.median(ordered), 2),
        p99_ms=round(p99, 2),
        rps=round(len(latencies) / wall, 1),
        cpu_ms_per_request=cpu,
    )


def _row(r: Result) -> str:
    cpu = ", ".join(f"{k} {v}" for k, v in r.cpu_ms_per_request.items())
    return (
        f"| {r.scenario:<8} | {'yes' if r.stream else 'no':<6} | {r.concurrency:>3} | {r.p50_ms:>8} | {r.p99_ms:>8} "
        f"| {r.rps:>7} | {r.errors:>3} | {cpu} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="requests per scenario and concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["direct", "bourse", "router", "gateway", "hop"],
        choices=["direct", "bourse", "router", "gateway", "hop"],
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    print("| scenario | stream | conc | p50 ms | p99 ms | req/s | err | CPU ms per request, by process |")
    print("|---|---|---|---|---|---|---|---|")
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
