"""Builds the ledger service: store, NATS consumers, gRPC LedgerService, dashboard HTTP, metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from bourse.ledger.v1 import ledger_service_pb2_grpc as pb_grpc
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry

from shared.events.healing import HealingConnection
from shared.metrics import serve_metrics
from shared.pricing.manifest import default_manifest_path, load_manifest
from shared.pricing.price_age import age_summary
from shared.pricing.price_table import PriceTable
from shared.serving import ServiceServer, new_server

from .config import SERVICE_NAME, LedgerConfig
from .core.store import LedgerStore
from .dashboard_http import Dashboard
from .events import LedgerConsumers
from .metrics import LedgerMetrics
from .servicer import LedgerServicer

if TYPE_CHECKING:
    from shared.tracing import Tracing

DRAIN_TIMEOUT_S = 5.0


@dataclass
class LedgerServer(ServiceServer):
    """The ledger's server, with what tests and `bourse up` need to reach it."""

    http_port: int = 0
    store: LedgerStore | None = None
    consumers: LedgerConsumers | None = None
    registry: CollectorRegistry | None = None
    connection: HealingConnection | None = None


async def create_server(
    config: LedgerConfig,
    logger: structlog.typing.FilteringBoundLogger,
    *,
    registry: CollectorRegistry | None = None,
    tracing: Tracing | None = None,
    clock: Callable[[], float] = time.time,
) -> LedgerServer:
    """Open the store, start consuming, bind gRPC and the dashboard; `start()` then reports SERVING.

    `clock` (seconds since the epoch) dates the prices' age on the dashboard; tests pass their own.
    """
    registry = registry or CollectorRegistry()
    metrics = LedgerMetrics.create(registry)
    store = LedgerStore(config.db_path)
    base = new_server(
        listen=config.listen, service_names=[SERVICE_NAME], logger=logger, metrics=metrics.rpc, tracing=tracing
    )
    pb_grpc.add_LedgerServiceServicer_to_server(LedgerServicer(store, metrics), base.server)  # type: ignore[no-untyped-call]
    connection = await HealingConnection.open([config.nats_url], logger, name="bourse-ledger")
    consumers = LedgerConsumers(
        js=connection.nc.jetstream(),
        store=store,
        metrics=metrics,
        logger=logger,
        consumer_name=config.consumer_name,
        fetch_batch=config.fetch_batch,
        ack_wait_s=config.ack_wait_s,
    )
    await consumers.start()
    http_port = 0
    prices = PriceTable.from_manifest(load_manifest(config.manifest_path or default_manifest_path()))
    dashboard = Dashboard(
        store,
        logger,
        window_s=config.dashboard_window_s,
        refresh_s=config.dashboard_refresh_s,
        price_age=lambda: age_summary(prices, clock(), config.max_price_age_days),
    )
    if config.http_listen:
        http_port = await dashboard.start(config.http_listen)
        logger.info("dashboard", url=f"http://{config.http_listen.rpartition(':')[0]}:{http_port}/")
    metrics_server = serve_metrics(registry, config.metrics_listen)

    async def close_consumers() -> None:
        await consumers.close()

    async def close_nats_connection() -> None:
        # Acks are fire-and-forget: one left unsent only means a harmless redelivery.
        await connection.close(timeout_s=DRAIN_TIMEOUT_S)

    async def close_http() -> None:
        await dashboard.close()
        if metrics_server is not None:
            metrics_server.shutdown()

    async def close_store() -> None:
        store.close()

    server = LedgerServer(
        server=base.server,
        port=base.port,
        health=base.health,
        service_names=base.service_names,
        logger=logger,
        # Run in reverse at stop: consumers, NATS drained, HTTP, then the store.
        # base.closers holds the tracer's flush (when tracing), which runs last.
        closers=[*base.closers, close_store, close_http, close_nats_connection, close_consumers],
        http_port=http_port,
        store=store,
        consumers=consumers,
        registry=registry,
        connection=connection,
    )
    _follow_replacements(server, connection, consumers)
    return server


def _follow_replacements(server: LedgerServer, connection: HealingConnection, consumers: LedgerConsumers) -> None:
    """Consume through each replacement client; health is NOT_SERVING while the client is closed."""
    started = False

    async def ready() -> None:
        nonlocal started
        started = True

    async def move_to(fresh: NATS) -> None:
        await consumers.rebind(fresh.jetstream())

    async def health(connected: bool) -> None:
        if started and not consumers.stopping:
            await server.set_serving(connected)

    server.startup.append(ready)
    connection.on_replaced(move_to)
    connection.on_state(health)
