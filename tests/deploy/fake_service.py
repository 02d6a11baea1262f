"""A stand-in child for testing `bourse up` orchestration: real gRPC health or real HTTP, chosen by FAKE_MODE.

FAKE_PREFIX names the env prefix it was given (it reads `<prefix>_LISTEN` like a real service). It appends
"start <name> <env json>" and "stop <name>" lines to FAKE_RECORD, so tests can see order and wiring.
Modes: grpc (healthy), http (/healthz 200), crash (exits 3 at start), unhealthy (gRPC, never SERVING),
crash_on_file (healthy gRPC until FAKE_TRIGGER exists, then exits 4).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from shared.lifecycle import run_until_signal
from shared.logging import configure_logging, get_logger
from shared.serving import new_server


def record(line: str) -> None:
    with Path(os.environ["FAKE_RECORD"]).open("a") as out:
        out.write(line + "\n")


async def serve_grpc(name: str, listen: str, healthy: bool, trigger: str) -> None:
    logger = get_logger(name)
    service = new_server(
        listen=listen, service_names=[os.environ.get("FAKE_HEALTH", "fake.v1.FakeService")], logger=logger
    )
    await service.server.start()
    if healthy:
        await service.set_serving()
    if trigger:
        while not Path(trigger).exists():
            await asyncio.sleep(0.05)
        print(f"{name}: trigger file seen, exiting", flush=True)
        sys.exit(4)
    await run_until_signal(service, logger, grace_s=1.0)


async def serve_http(listen: str) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        ok = request_line.split(b" ")[1:2] == [b"/healthz"]
        writer.write(b"HTTP/1.1 200 OK\r\n" if ok else b"HTTP/1.1 404 Not Found\r\n")
        writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    host, _, port = listen.rpartition(":")
    server = await asyncio.start_server(handle, host, int(port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    configure_logging("info")
    prefix = os.environ["FAKE_PREFIX"]
    mode = os.environ["FAKE_MODE"]
    name = prefix.lower()
    listen = os.environ[f"{prefix}_LISTEN"]
    wiring = {k: v for k, v in os.environ.items() if k.startswith((prefix + "_", "BOURSE_NATS_URL"))}
    record(f"start {name} {json.dumps(wiring, sort_keys=True)}")
    if mode == "crash":
        print(f"{name}: fatal: invalid configuration field $.listen", flush=True)
        sys.exit(3)
    if mode == "http":
        asyncio.run(serve_http(listen))
    else:
        trigger = os.environ.get("FAKE_TRIGGER", "") if mode == "crash_on_file" else ""
        asyncio.run(serve_grpc(name, listen, healthy=mode != "unhealthy", trigger=trigger))
    record(f"stop {name}")


if __name__ == "__main__":
    main()
