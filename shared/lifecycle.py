"""One lifecycle for every service: build, start, ready, stop.

- build: `create_server(config, logger)` creates everything and binds the port; it takes no requests yet.
- start: `await service.start()` starts taking requests and runs the start-up steps; the service is ready (gRPC
  health SERVING, HTTP /healthz 200) when it returns, or, for a service that loads in the background (a model,
  an index), when that loading finishes (`service.loading`).
- stop: `await service.stop(grace_s, drain_s)`: not ready (NOT_SERVING / 503), `drain_s` for health-watching
  clients to move away, stop taking requests and let in-flight ones finish within `grace_s`, then close what the
  service opened in the reverse order it was opened (clients, NATS drained, stores).

Every service's `__main__` is `main(SERVICE)` with the `ServiceDefinition` of its `api.py`; signals, the grace
period (`shutdown_grace_s` in every config) and exit codes are handled here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import structlog

from shared.config import ConfigError, load_config
from shared.logging import configure_logging, get_logger
from shared.tracing_switch import tracing_from_env

Logger = structlog.typing.FilteringBoundLogger

# Exit codes: a configuration error (nothing started) and a failed background start-up.
EXIT_CONFIG = 2
EXIT_START_FAILED = 1
# Seconds health stays NOT_SERVING before the server stops taking calls (clients watching health move away).
DRAIN_S = 0.5


class Service(Protocol):
    """What every `create_server` returns."""

    @property
    def port(self) -> int: ...

    @property
    def loading(self) -> asyncio.Task[None] | None:
        """Background start-up still running after `start()` (None when `start()` returned ready)."""
        ...

    async def start(self) -> None: ...

    async def stop(self, grace_s: float = 5.0, drain_s: float = 0.0) -> None: ...


class ServiceConfig(Protocol):
    """The settings the lifecycle reads from every service's config."""

    @property
    def log_level(self) -> str: ...

    @property
    def shutdown_grace_s(self) -> float: ...


C = TypeVar("C", bound=ServiceConfig)


@dataclass(frozen=True)
class ServiceDefinition(Generic[C]):
    """How to run one service: its name (logger, messages), config type and env prefix, and its factory."""

    name: str
    config_type: type[C]
    env_prefix: str
    # (config, logger, *, tracing=None): `tracing` is given only when OpenTelemetry is on.
    create_server: Callable[..., Awaitable[Service]]


def main(definition: ServiceDefinition[Any]) -> None:
    """`python -m services.<name>`: run the service until SIGTERM/SIGINT and exit with its code."""
    sys.exit(asyncio.run(serve(definition)))


async def serve(definition: ServiceDefinition[Any]) -> int:
    """Load the config (env + optional file), build, start, serve until a signal, stop. Returns the exit code."""
    try:
        config = load_config(definition.config_type, env_prefix=definition.env_prefix)
    except ConfigError as error:  # a typo in the configuration: say which field, without a traceback
        sys.stderr.write(f"{definition.name}: {error.message}\n")
        return EXIT_CONFIG
    configure_logging(config.log_level)
    logger = get_logger(definition.name)
    try:
        # OpenTelemetry, only when an OTEL_* exporter variable asks for it; each factory takes `tracing=`.
        tracing = tracing_from_env(definition.name, os.environ)
    except ValueError as error:
        sys.stderr.write(f"{definition.name}: {error}\n")
        return EXIT_CONFIG
    options = {} if tracing is None else {"tracing": tracing}
    # Signals are caught from before start-up: a SIGTERM while the service starts still stops it in order.
    with _stop_on_signal() as stop:
        service = await definition.create_server(config, logger, **options)
        await service.start()
        return await run_until_signal(service, logger, grace_s=config.shutdown_grace_s, stop=stop)


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[asyncio.Event]:
    """An event set by SIGTERM or SIGINT while the block runs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def run_until_signal(
    service: Service,
    logger: Logger,
    *,
    grace_s: float,
    drain_s: float = DRAIN_S,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve a started service until SIGTERM or SIGINT (or its background start-up fails), then stop it in order.

    `stop` is an event the caller's signal handlers already set (see `serve`); without it, handlers are installed
    here. Returns 0 after a signal, EXIT_START_FAILED when background start-up failed.
    """
    if stop is None:
        with _stop_on_signal() as own:
            return await run_until_signal(service, logger, grace_s=grace_s, drain_s=drain_s, stop=own)
    failed = False

    def on_loaded(task: asyncio.Task[None]) -> None:
        nonlocal failed
        if not task.cancelled() and task.exception() is not None:
            failed = True
            stop.set()

    if service.loading is not None:
        service.loading.add_done_callback(on_loaded)
    logger.info("serving", port=service.port)
    await stop.wait()
    if failed:
        logger.error("start_failed_exiting")
        await service.stop(0.0, 0.0)
        return EXIT_START_FAILED
    logger.info("shutting_down", grace_s=grace_s, drain_s=drain_s)
    await service.stop(grace_s, drain_s)
    logger.info("stopped")
    return 0
