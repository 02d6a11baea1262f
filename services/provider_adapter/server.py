"""create_server: the one factory __main__ and the tests use."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import structlog
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc
from prometheus_client import CollectorRegistry

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.metrics import AdapterMetrics
from services.provider_adapter.servicer import ProviderServicer
from services.provider_adapter.upstreams import build_providers
from shared.instrumentation import Instruments
from shared.metrics import serve_metrics
from shared.prometheus_instruments import PrometheusInstruments
from shared.serving import ServiceServer, new_server

if TYPE_CHECKING:
    from shared.tracing import Tracing

SERVICE_NAME = "bourse.provider.v1.ProviderService"


async def create_server(
    config: AdapterConfig,
    logger: structlog.typing.FilteringBoundLogger,
    *,
    environ: Mapping[str, str] | None = None,
    registry: CollectorRegistry | None = None,
    tracing: Tracing | None = None,
) -> ServiceServer:
    """Build the adapter (providers and their HTTP sessions created once); the caller starts it.

    `environ` supplies API keys (default: the process environment). With `tracing`, each upstream call is a span
    (GenAI attributes) and its HTTP request carries `traceparent`.
    """
    metrics_registry = registry or CollectorRegistry()
    instruments: Instruments = PrometheusInstruments(metrics_registry, prefix="bourse_provider_adapter_")
    if tracing is not None:
        instruments = tracing.instruments(instruments)
    providers = await build_providers(
        config,
        os.environ if environ is None else environ,
        instruments,
        propagate=tracing.inject if tracing is not None else None,
    )
    metrics = AdapterMetrics.create(metrics_registry)
    service = new_server(
        listen=config.listen, service_names=[SERVICE_NAME], logger=logger, metrics=metrics.rpc, tracing=tracing
    )
    pb_grpc.add_ProviderServiceServicer_to_server(  # type: ignore[no-untyped-call]
        ProviderServicer(providers, metrics, logger), service.server
    )
    service.closers.append(providers.close)
    metrics_server = serve_metrics(metrics_registry, config.metrics_listen)
    if metrics_server is not None:

        async def close_metrics() -> None:
            await asyncio.to_thread(metrics_server.shutdown)  # waits for the serving thread's poll loop
            metrics_server.server_close()

        service.closers.append(close_metrics)
    logger.info("providers", routes=providers.routes)
    return service
