"""What OpenTelemetry tracing costs: the whole request path with tracing off and on, and one span of each kind.

1. Path: gateway -> router -> provider adapter -> simulator (zero added latency), all in this one process, so
   process CPU per request is Bourse's CPU for the request. "off" is the default (no OTEL_* variable: nothing
   built, not even imported); "on" exports every span over OTLP/HTTP to a loopback receiver, itself in this
   process (its decoding CPU is counted too, so "on" is an upper bound), with the SDK's batch processor.
2. Spans: the `span()` of the instrumentation interface as core calls it, off (`NoInstruments`) and on
   (`TracingInstruments` with the batch processor and the OTLP exporter).

    python -m bench.tracing_overhead [--requests 400] [--concurrency 1 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from services.gateway.api import GatewayConfig, KeyStore, issue_key, open_bucket
from services.gateway.api import create_server as create_gateway
from services.provider_adapter.api import AdapterConfig
from services.provider_adapter.api import create_server as create_adapter
from services.router.api import RouterConfig
from services.router.api import create_server as create_router
from services.simulator.api import SimulatorConfig
from services.simulator.api import create_server as create_simulator
from shared.events.connect import connect
from shared.instrumentation import Instruments, NoInstruments
from shared.logging import configure_logging, get_logger
from shared.processes import NatsServer
from shared.tracing_switch import tracing_from_env
from tests.tracing.otlp_receiver import OtlpReceiver

BODY = {"model": "bourse/cheapest", "messages": [{"role": "user", "content": "hi"}], "bourse": {"no_local": True}}


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def _path(nats_url: str, traced: bool, args: argparse.Namespace) -> dict[str, float]:
    receiver = OtlpReceiver()
    await receiver.start()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint} if traced else {}
    logger = get_logger("bench")
    with _environ(env):

        def tracing(name: str) -> dict[str, Any]:
            built = tracing_from_env(name, env)
            return {} if built is None else {"tracing": built}

        simulator = await create_simulator(
            SimulatorConfig(listen="127.0.0.1:0", seed=1), logger, **tracing("simulator")
        )
        await simulator.start()
        adapter = await create_adapter(
            AdapterConfig(listen="127.0.0.1:0", simulator_url=f"http://127.0.0.1:{simulator.port}"),
            logger,
            environ={},
            **tracing("provider-adapter"),
        )
        await adapter.start()
        router = await create_router(
            RouterConfig(
                listen="127.0.0.1:0",
                nats_url=nats_url,
                adapter_target=f"127.0.0.1:{adapter.port}",
                rate_limit_share=0.0,
                budget_bucket=f"bench_{secrets.token_hex(3)}",
            ),
            logger,
            **tracing("router"),
        )
        await router.start()
        bucket = f"TRACE_BENCH_{secrets.token_hex(3)}"
        nc = await connect([nats_url], logger, name="bench")
        issued = issue_key("bench")
        await KeyStore(await open_bucket(nc.jetstream(), bucket), logger).put(issued.record)
        gateway = await create_gateway(
            GatewayConfig(
                listen="127.0.0.1:0",
                router=f"127.0.0.1:{router.port}",
                inference="127.0.0.1:1",
                nats_url=nats_url,
                keys_bucket=bucket,
            ),
            logger,
            **tracing("gateway"),
        )
        await gateway.start()
        url = f"{gateway.base_url}/chat/completions"
        headers = {"Authorization": f"Bearer {issued.key}"}
        results: dict[str, float] = {}
        try:
            async with aiohttp.ClientSession() as session:

                async def one() -> float:
                    started = time.perf_counter()
                    async with session.post(url, json=BODY, headers=headers) as response:
                        await response.read()
                        assert response.status == 200, response.status
                    return time.perf_counter() - started

                for _ in range(20):  # warm-up: connections, JIT-free but caches and pools
                    await one()

                async def worker(n: int) -> list[float]:
                    return [await one() for _ in range(n)]

                for concurrency in args.concurrency:
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    per = args.requests // concurrency
                    latencies = [
                        t for done in await asyncio.gather(*(worker(per) for _ in range(concurrency))) for t in done
                    ]
                    count = per * concurrency
                    results[f"c{concurrency}_cpu_ms"] = (time.process_time() - cpu0) / count * 1000
                    results[f"c{concurrency}_rps"] = count / (time.perf_counter() - wall0)
                    results[f"c{concurrency}_p50_ms"] = statistics.median(latencies) * 1000
        finally:
            await gateway.stop()
            await router.stop(0.5)
            await adapter.stop(0.5)
            await simulator.stop()
            await nc.drain()
            await receiver.stop()
        if traced:
            results["spans_received"] = len(receiver.spans)
    return results


def _span_cost(instruments: Instruments, n: int) -> float:
    """Microseconds per span opened, given three attributes and closed, as the router's core does."""
    started = time.perf_counter()
    for _ in range(n):
        with instruments.span("provider_attempt") as span:
            span.set_attribute("gen_ai.system", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.usage.output_tokens", 12)
    return (time.perf_counter() - started) / n * 1e6


async def _spans(n: int) -> dict[str, float]:
    receiver = OtlpReceiver()
    await receiver.start()
    try:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        with _environ(env):
            tracing = tracing_from_env("bench", env)
            assert tracing is not None
            off = _span_cost(NoInstruments(), n)
            on = await asyncio.to_thread(_span_cost, tracing.instruments(NoInstruments()), n)
            await tracing.close()
    finally:
        await receiver.stop()
    return {"span_off_us": off, "span_on_us": on}


async def run(args: argparse.Namespace) -> None:
    configure_logging("warning")
    with tempfile.TemporaryDirectory(prefix="bourse-trace-bench-") as tmp:
        nats = NatsServer(data_dir=Path(tmp) / "nats")
        nats.start()
        try:
            rows = {}
            for round_ in range(args.rounds):  # alternate off/on so drifting load hits both alike
                for traced in (False, True):
                    rows[(round_, traced)] = await _path(nats.url, traced, args)
        finally:
            nats.stop()
    spans = await _spans(args.spans)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for key in (k for k in rows[(0, False)] if k != "spans_received"):
        off = statistics.median(rows[(r, False)][key] for r in range(args.rounds))
        on = statistics.median(rows[(r, True)].get(key, 0.0) for r in range(args.rounds))
        print(f"{key:>14}: off {off:9.2f}  on {on:9.2f}  on/off {on / off if off else float('nan'):.2f}")
    sent = 20 + sum(args.requests // c * c for c in args.concurrency)
    received = statistics.median(rows[(r, True)]["spans_received"] for r in range(args.rounds))
    print(f"{'spans/request':>14}: {received / sent:.1f}")
    print(f"{'one span':>14}: off {spans['span_off_us']:.2f} us  on {spans['span_on_us']:.2f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spans", type=int, default=20_000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
