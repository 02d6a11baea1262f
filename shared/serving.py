"""gRPC server plumbing shared by every service: health, reflection, error mapping, graceful shutdown.

Each gRPC service's `create_server(...)` builds on `new_server` and returns the `ServiceServer`, which follows
the one lifecycle of `shared.lifecycle` (start, ready, stop); both its `__main__` and the tests use it.
Shutdown order: health NOT_SERVING, stop taking RPCs and let in-flight ones finish within the grace period,
then the service's closers in the reverse order they were added (clients, NATS drain, stores).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from shared.grpc_errors import ErrorMappingInterceptor
from shared.metrics import RpcMetrics

if TYPE_CHECKING:
    from shared.tracing import Tracing

# Keepalives and message limits shared by servers and channels; see deploy/ for the client service config.
SERVER_OPTIONS: Sequence[tuple[str, int]] = (
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
)

Closer = Callable[[], Awaitable[None]]
StartStep = Callable[[], Awaitable[None]]


@dataclass
class ServiceServer:
    """A gRPC server with its health servicer, start-up steps and the closers to run at shutdown.

    `closers` are added as resources are opened and run in reverse at `stop()`. `startup` steps run in order in
    `start()` once the server takes calls, before health turns SERVING (e.g. recover prices from NATS). A service
    that loads in the background sets `loading` to that task, which turns health SERVING itself.
    """

    server: grpc.aio.Server
    port: int
    health: health_aio.HealthServicer
    service_names: Sequence[str]
    closers: list[Closer] = field(default_factory=list)
    startup: list[StartStep] = field(default_factory=list)
    loading: asyncio.Task[None] | None = None
    logger: structlog.typing.FilteringBoundLogger | None = None
    # Each closer's bound at stop (a NATS drain is bounded at 5 s inside its closer; this catches the unforeseen).
    close_timeout_s: float = 15.0

    async def start(self) -> None:
        """Take calls, run the start-up steps, then report SERVING (unless loading continues in the background)."""
        await self.server.start()
        for step in self.startup:
            await step()
        if self.loading is None:
            await self.set_serving()

    async def set_serving(self, serving: bool = True) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set("", status)
        for name in self.service_names:
            await self.health.set(name, status)

    async def stop(self, grace_s: float = 5.0, drain_s: float = 0.0) -> None:
        await self.set_serving(False)
        if drain_s > 0:
            # Clients that watch health (insecure_channel(health_checked=True)) move their calls elsewhere now,
            # so none is sent to this one while it closes its connections.
            await asyncio.sleep(drain_s)
        await self._stop_server(grace_s)
        for close in reversed(self.closers):
            await self._close_within(close, self.close_timeout_s)

    async def _stop_server(self, grace_s: float) -> None:
        """Stop taking calls and let in-flight ones finish within the grace period, bounded: grpc's shutdown can
        wait on a call whose cancellation never completes in the core, and that must not keep the closers (NATS
        drain, stores) from running."""
        stopping = asyncio.ensure_future(self.server.stop(grace_s))
        done, _ = await asyncio.wait({stopping}, timeout=grace_s + self.close_timeout_s)
        if not done:
            if self.logger is not None:
                self.logger.error("server_stop_timed_out", timeout_s=grace_s + self.close_timeout_s)
            return
        if not stopping.cancelled() and stopping.exception() is not None and self.logger is not None:
            self.logger.error("server_stop_failed", exc_info=stopping.exception())

    async def _close_within(self, close: Closer, timeout_s: float) -> None:
        """Run one closer; one that fails or hangs must not leave the others open nor keep the process alive.

        A closer still running after `timeout_s` is cancelled and left behind (a library that swallows the
        cancellation cannot hold the stop), and the stop goes on with the next one."""
        name = getattr(close, "__qualname__", repr(close))
        task = asyncio.ensure_future(close())
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
        if not done:
            task.cancel()
            if self.logger is not None:
                self.logger.error("close_timed_out", closer=name, timeout_s=timeout_s)
            return
        error = asyncio.CancelledError() if task.cancelled() else task.exception()
        if error is not None and self.logger is not None:
            self.logger.error("close_failed", closer=name, exc_info=error)


class _NotServingAtStart(health_aio.HealthServicer):  # type: ignore[misc]
    """The library's health servicer, starting NOT_SERVING for "" and every service name.

    The library starts the overall status "" as SERVING, which would report a process ready before its
    dependencies (NATS, a model) are; `set()` is async and cannot run before the event loop serves.
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        for name in ("", *names):
            self._server_status[name] = health_pb2.HealthCheckResponse.NOT_SERVING


def new_server(
    *,
    listen: str,
    service_names: Iterable[str],
    logger: structlog.typing.FilteringBoundLogger,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    metrics: RpcMetrics | None = None,
    tracing: Tracing | None = None,
) -> ServiceServer:
    """Create a server bound to `listen` ("host:port", port 0 for an ephemeral one) with health + reflection.

    Health starts NOT_SERVING for every service name; the caller flips it once dependencies are ready. With
    `tracing`, each RPC continues the caller's trace, and the provider is flushed at stop (the last closer).
    """
    names = tuple(service_names)
    traced: list[grpc.aio.ServerInterceptor] = []
    if tracing is not None:
        from shared.grpc_tracing import TracingServerInterceptor  # OpenTelemetry is loaded only when tracing

        traced.append(TracingServerInterceptor(tracing))
    server = grpc.aio.server(
        interceptors=[
            ErrorMappingInterceptor(logger, metrics=metrics, counted_services=names),
            *traced,
            *interceptors,
        ],
        options=list(SERVER_OPTIONS),
    )
    health = _NotServingAtStart(names)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection((*names, reflection.SERVICE_NAME, "grpc.health.v1.Health"), server)
    port = server.add_insecure_port(listen)
    if port == 0:
        raise OSError(f"cannot bind gRPC server to {listen}")
    service = ServiceServer(server=server, port=port, health=health, service_names=names, logger=logger)
    if tracing is not None:
        service.closers.append(tracing.close)  # closers run in reverse: spans are flushed after everything else
    return service


def client_service_config(max_attempts: int = 3, *, health_checked: bool = False) -> str:
    """The gRPC service config of every channel between services (JSON).

    `round_robin` spreads calls over every address the target resolves to (a Kubernetes headless Service, or
    `ipv4:host:a,host:b`). A call that fails with UNAVAILABLE (a replica draining or gone: the request never ran
    there) is retried with backoff, on another replica when there is one. Other codes are not retried here: the
    router decides about provider errors itself.

    With `health_checked`, calls go only to replicas whose overall health (`""`) is SERVING, watched by the
    client: a replica starting up or draining (`ServiceServer.stop(drain_s=...)`) gets no new calls. Use it
    for replicated services; leave it off where the caller wants the server's own not-ready error.
    """
    config: dict[str, object] = {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": max_attempts,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
    if health_checked:
        config["healthCheckConfig"] = {"serviceName": ""}
    return json.dumps(config)


def channel_options(max_attempts: int = 3, *, health_checked: bool = False) -> list[tuple[str, int | str]]:
    """Channel options: keepalives and limits shared with servers, plus the client service config."""
    return [
        *SERVER_OPTIONS,
        ("grpc.enable_retries", 1),
        ("grpc.service_config", client_service_config(max_attempts, health_checked=health_checked)),
        # A replica that went away is noticed by keepalive; re-resolve DNS soon after so new pods are picked up.
        ("grpc.dns_min_time_between_resolutions_ms", 5_000),
        # A restarted replica is used again within a second or two, not after a long reconnect backoff.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ]


def insecure_channel(
    target: str, *, max_attempts: int = 3, health_checked: bool = False, tracing: Tracing | None = None
) -> grpc.aio.Channel:
    """A client channel for calls between services: keepalives, round_robin, retry of UNAVAILABLE.

    `target` may name several replicas: `dns:///router.bourse.svc:50051` (headless Service) or
    `ipv4:127.0.0.1:50051,127.0.0.1:50061`. See `client_service_config` for `health_checked`. With `tracing`,
    every call carries the current trace context (`traceparent`) in its metadata.
    """
    options = channel_options(max_attempts, health_checked=health_checked)
    if tracing is None:
        return grpc.aio.insecure_channel(target, options=options)
    from shared.grpc_tracing import client_interceptors  # OpenTelemetry is loaded only when tracing

    return grpc.aio.insecure_channel(target, options=options, interceptors=client_interceptors(tracing))
