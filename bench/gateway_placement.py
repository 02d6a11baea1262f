"""Gateway as its own service vs inside the router's process: what the extra gRPC hop costs.

Both placements serve the same OpenAI HTTP API in front of the same null router (answers at once):
  separate   gateway process -> gRPC -> null router process (how Bourse deploys it)
  same       one process: the gateway calls the router servicer directly, no gRPC, no serialisation
CPU is the sum over the processes involved; RSS is summed likewise.

    python -m bench.gateway_placement [--requests 600] [--concurrency 1 16 64]
    (`python -m bench.gateway_placement serve PORT NATS_URL BUCKET` is the same-process server it starts)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from bench.gateway_null_router import NullRouter
from bench.gateway_overhead import _cpu_s, _http_call, _load, _result, _row, _rss_mb, _wait_http
from services.gateway.api import (
    DirectRouter,
    GatewayConfig,
    GatewayMetrics,
    KeyStore,
    OpenAIHttpApi,
    issue_key,
    open_bucket,
)
from shared.events.connect import connect
from shared.logging import configure_logging, get_logger
from shared.processes import Child, NatsServer, free_port, python_module, wait_healthy


async def serve_same_process(port: int, nats_url: str, bucket: str) -> None:
    configure_logging("warning")
    logger = get_logger("gateway-same-process")
    config = GatewayConfig(listen=f"127.0.0.1:{port}", nats_url=nats_url, keys_bucket=bucket)
    nc = await connect([nats_url], logger, name="gateway-same-process")
    keys = KeyStore(await open_bucket(nc.jetstream(), bucket), logger)
    await keys.watch()
    api = OpenAIHttpApi(
        config=config,
        router=DirectRouter(NullRouter()),
        inference=None,  # type: ignore[arg-type]
        keys=keys,
        logger=logger,
        metrics=GatewayMetrics.create(CollectorRegistry()),
    )
    runner = web.AppRunner(api.application(), access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def run(args: argparse.Namespace) -> None:
    configure_logging("warning")
    with tempfile.TemporaryDirectory(prefix="bourse-placement-") as tmp:
        workdir = Path(tmp)
        nats = NatsServer(data_dir=workdir / "nats")
        nats.start()
        bucket = f"PLACEMENT_{secrets.token_hex(3)}"
        nc = await connect([nats.url], get_logger("bench"), name="bench")
        issued = issue_key("bench")
        await KeyStore(await open_bucket(nc.jetstream(), bucket), get_logger("bench")).put(issued.record)
        await nc.drain()
        ports = {name: free_port() for name in ("null_router", "separate", "same")}
        children = {
            "null_router": Child(
                "null_router",
                [*python_module("bench.gateway_null_router"), str(ports["null_router"])],
                workdir / "null.log",
            ),
            "separate": Child(
                "separate",
                python_module("services.gateway"),
                workdir / "separate.log",
                env={
                    "BOURSE_GATEWAY_LISTEN": f"127.0.0.1:{ports['separate']}",
                    "BOURSE_GATEWAY_ROUTER": f"127.0.0.1:{ports['null_router']}",
                    "BOURSE_GATEWAY_NATS_URL": nats.url,
                    "BOURSE_GATEWAY_KEYS_BUCKET": bucket,
                    "BOURSE_GATEWAY_LOG_LEVEL": "warning",
                },
            ),
            "same": Child(
                "same",
                [*python_module("bench.gateway_placement"), "serve", str(ports["same"]), nats.url, bucket],
                workdir / "same.log",
            ),
        }
        try:
            for name, child in children.items():
                child.start()
                if name == "null_router":
                    await wait_healthy(f"127.0.0.1:{ports[name]}", child=child)
                else:
                    await _wait_http(f"http://127.0.0.1:{ports[name]}/healthz", child)
            await _measure(args, ports, children, issued.key)
        finally:
            for child in children.values():
                child.stop()
            nats.stop()


async def _measure(args: argparse.Namespace, ports: dict[str, int], children: dict[str, Child], key: str) -> None:
    processes = {"separate": ["separate", "null_router"], "same": ["same"]}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for stream in (False, True):
        body = json.dumps(
            {"model": "bourse/cheapest", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
        ).encode()
        for concurrency in args.concurrency:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                for placement in ("separate", "same"):
                    url = f"http://127.0.0.1:{ports[placement]}/v1/chat/completions"
                    call = _http_call(session, url, body, headers)
                    await _load(call, concurrency, 50)
                    pids = {n: children[n].proc.pid for n in processes[placement] if children[n].proc is not None}
                    before = {n: _cpu_s(pid) for n, pid in pids.items()}
                    requests = args.requests if concurrency > 1 else max(100, args.requests // 3)
                    latencies, errors, wall = await _load(call, concurrency, requests)
                    cpu = {
                        n: round((_cpu_s(pid) - before[n]) * 1000 / max(1, len(latencies)), 3)
                        for n, pid in pids.items()
                    }
                    cpu["total"] = round(sum(cpu.values()), 3)
                    print(
                        _row(
                            _result(
                                scenario=placement,
                                stream=stream,
                                concurrency=concurrency,
                                latencies=latencies,
                                errors=errors,
                                wall=wall,
                                cpu=cpu,
                            )
                        ),
                        flush=True,
                    )
    rss = {name: round(_rss_mb(child.proc.pid), 1) for name, child in children.items() if child.proc is not None}
    print(f"\nRSS after the run (MB): {rss}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_same_process(int(sys.argv[2]), sys.argv[3], sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    print("| placement | stream | conc | p50 ms | p99 ms | req/s | err | CPU ms per request, by process |")
    print("|---|---|---|---|---|---|---|---|")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
