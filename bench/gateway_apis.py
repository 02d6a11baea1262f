"""What each client API costs in the gateway: chat completions, Anthropic Messages, OpenAI Responses, n > 1.

One gateway process serving the HTTP API in front of the null router in the same process (DirectRouter, no gRPC
hop: see bench.gateway_placement), so the CPU per request is the gateway's own HTTP, JSON and translation work
for each API, unary and streamed (12 deltas). `chat n=4` is four routed calls answered as one.

    python -m bench.gateway_apis [--requests 600] [--concurrency 1 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench.gateway_overhead import _cpu_s, _http_call, _load, _result, _row, _rss_mb, _wait_http
from services.gateway.api import KeyStore, issue_key, open_bucket
from shared.events.connect import connect
from shared.logging import configure_logging, get_logger
from shared.processes import Child, NatsServer, free_port, python_module

_HI = [{"role": "user", "content": "hi"}]
APIS: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/v1/chat/completions", {"model": "bourse/cheapest", "messages": _HI}),
    "messages": ("/v1/messages", {"model": "bourse/cheapest", "max_tokens": 64, "messages": _HI}),
    "responses": ("/v1/responses", {"model": "bourse/cheapest", "input": "hi"}),
    "chat n=4": ("/v1/chat/completions", {"model": "bourse/cheapest", "messages": _HI, "n": 4}),
}


async def run(args: argparse.Namespace) -> None:
    configure_logging("warning")
    with tempfile.TemporaryDirectory(prefix="bourse-apis-") as tmp:
        workdir = Path(tmp)
        nats = NatsServer(data_dir=workdir / "nats")
        nats.start()
        bucket = f"APIS_{secrets.token_hex(3)}"
        nc = await connect([nats.url], get_logger("bench"), name="bench")
        issued = issue_key("bench")
        await KeyStore(await open_bucket(nc.jetstream(), bucket), get_logger("bench")).put(issued.record)
        await nc.drain()
        port = free_port()
        gateway = Child(
            "gateway",
            [*python_module("bench.gateway_placement"), "serve", str(port), nats.url, bucket],
            workdir / "gateway.log",
        )
        try:
            gateway.start()
            await _wait_http(f"http://127.0.0.1:{port}/healthz", gateway)
            await _measure(args, port, gateway, issued.key)
        finally:
            gateway.stop()
            nats.stop()


async def _measure(args: argparse.Namespace, port: int, gateway: Child, key: str) -> None:
    assert gateway.proc is not None
    pid = gateway.proc.pid
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for stream in (False, True):
        for concurrency in args.concurrency:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                for name, (path, body) in APIS.items():
                    call = _http_call(
                        session,
                        f"http://127.0.0.1:{port}{path}",
                        json.dumps({**body, "stream": stream}).encode(),
                        headers,
                    )
                    await _load(call, concurrency, 50)
                    before = _cpu_s(pid)
                    requests = args.requests if concurrency > 1 else max(100, args.requests // 3)
                    latencies, errors, wall = await _load(call, concurrency, requests)
                    cpu = {"gateway": round((_cpu_s(pid) - before) * 1000 / max(1, len(latencies)), 3)}
                    result = _result(
                        scenario=name, stream=stream, concurrency=concurrency, latencies=latencies, errors=errors,
                        wall=wall, cpu=cpu,
                    )  # fmt: skip
                    print(_row(result), flush=True)
    print(f"\nRSS after the run (MB): gateway {round(_rss_mb(pid), 1)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    print("| api | stream | conc | p50 ms | p99 ms | req/s | err | CPU ms per request |")
    print("|---|---|---|---|---|---|---|---|")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
