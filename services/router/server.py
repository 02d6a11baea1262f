"""Builds the router: NATS, market data, clients, executor, servicer, gRPC server. Used by __main__ and tests.

Health stays NOT_SERVING until `start()` has recovered the latest prices from JetStream (NATS is connected at build),
loaded the quality predictor and replayed the shared quality evidence. It turns NOT_SERVING again while the NATS
client is closed and being replaced (shared/events/healing.py), and SERVING once the replacement carries the
events, budgets, feeds and quality evidence again.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from bourse.router.v1 import router_service_pb2_grpc
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.router.availability_events import AvailabilitySharing, close_sharing, new_replica_id
from services.router.budget_store import KvCounterStore
from services.router.clients.cache import CacheClient
from services.router.clients.inference import InferenceClient
from services.router.clients.provider import ProviderClient
from services.router.config import RouterConfig
from services.router.core.budgets import BudgetMetrics, Budgets, Limits
from services.router.core.execution.ladder import RouteExecutor
from services.router.core.execution.route_types import ExecutionSettings, RouteOutcome
from services.router.core.quality.routing import QualityRouting
from services.router.core.resilience.backoff import RetryAfterBook
from services.router.core.resilience.circuit import CircuitBreakers, ModelAvailability
from services.router.core.resilience.failover import FailoverPolicy
from services.router.core.resilience.headroom import RateLimitHeadroom
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.selection import Selector
from services.router.events import RouteMetrics, RouterEvents
from services.router.market import MarketFeed
from services.router.nats_health import NatsMetrics, follow_replacements
from services.router.quality_events import QualityEvents
from services.router.quality_setup import build_quality, load_scorer
from services.router.servicer import RouterServicer
from shared.events import streams
from shared.events.healing import HealingConnection
from shared.events.publisher import EventPublisher
from shared.events.spool import EventSpool
from shared.instrumentation import NoInstruments
from shared.metrics import RpcMetrics, serve_metrics
from shared.pricing.litellm_import import load_configured_manifest
from shared.pricing.manifest import RateLimits, default_manifest_path
from shared.pricing.price_age import PriceAgeWatch
from shared.pricing.price_table import PriceBook
from shared.prometheus_instruments import PrometheusInstruments
from shared.serving import ServiceServer, insecure_channel, new_server

if TYPE_CHECKING:
    from shared.tracing import Tracing

SERVICE_NAME = "bourse.router.v1.RouterService"


@dataclass
class RouterParts:
    """The router's long-lived objects, exposed for tests and benchmarks."""

    port: int
    book: PriceBook
    stats: LiveStats
    policy: FailoverPolicy
    executor: RouteExecutor
    publisher: EventPublisher
    market: MarketFeed
    cache: CacheClient | None
    registry: CollectorRegistry
    sharing: AvailabilitySharing | None = None
    connection: HealingConnection | None = None
    quality: QualityEvents | None = None


async def create_server(
    config: RouterConfig,
    logger: structlog.typing.FilteringBoundLogger,
    *,
    registry: CollectorRegistry | None = None,
    tracing: Tracing | None = None,
) -> ServiceServer:
    """Build the router (NATS connected); `start()` recovers the prices, then reports SERVING."""
    service, _parts = await create_router(config, logger, registry=registry, tracing=tracing)
    return service


async def create_router(
    config: RouterConfig,
    logger: structlog.typing.FilteringBoundLogger,
    *,
    registry: CollectorRegistry | None = None,
    tracing: Tracing | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[ServiceServer, RouterParts]:
    """`create_server`, also returning the router's long-lived parts (tests and benchmarks inspect them).

    `clock` (seconds since the epoch) dates prices and retirements; tests pass their own.
    """
    registry = registry or CollectorRegistry()
    service = new_server(
        listen=config.listen,
        service_names=[SERVICE_NAME],
        logger=logger,
        metrics=RpcMetrics.create(registry, "router"),
        tracing=tracing,
    )
    manifest = load_configured_manifest(config.manifest_path or default_manifest_path(), config.litellm_prices_path)
    book = PriceBook.from_manifest(manifest)
    stats = LiveStats(book)
    estimator = TokenEstimator()
    circuits, retry_after, availability, policy = _resilience(config, book)
    quality = build_quality(config.quality)  # the predictor is loaded at start (see _start)
    selector = Selector(book, stats, estimator, availability, quality, clock=clock)

    connection = await HealingConnection.open([config.nats_url], logger, name="bourse-router", auth=config.nats_auth)
    nc = connection.nc
    js = nc.jetstream()
    await streams.ensure_streams(js)
    sharing = await _share_availability(config, nc, retry_after, circuits, logger=logger, registry=registry)
    spool = EventSpool(config.event_spool_path) if config.event_spool_path else None
    nats_metrics = NatsMetrics.create(registry)
    publisher = EventPublisher(nc=nc, logger=logger, spool=spool, on_dead_letter=nats_metrics.dead_lettered)
    publisher.start()
    events = RouterEvents(publisher, RouteMetrics.create(registry))
    quality_events = QualityEvents(
        nc, quality, book, logger, registry=registry, retention_s=config.quality.evidence_retention_s
    )
    store = await KvCounterStore.open(js, config.budget_bucket) if config.budgets else None
    budgets = _budgets(config, store, events, registry, logger)
    provider = ProviderClient(insecure_channel(config.adapter_target, health_checked=True, tracing=tracing))
    cache = (
        CacheClient(
            insecure_channel(config.cache_target, tracing=tracing), logger, deadline_s=config.cache_deadline_ms / 1000.0
        )
        if config.cache_target
        else None
    )
    local = (
        InferenceClient(insecure_channel(config.inference_target, tracing=tracing)) if config.inference_target else None
    )
    executor = RouteExecutor(
        book=book,
        selector=selector,
        estimator=estimator,
        policy=policy,
        budgets=budgets,
        remote=provider,
        local=local,
        cache=cache,
        record=_recorder(events, quality_events),
        # Route, cache, local and provider-attempt spans: OpenTelemetry when tracing, else nothing at all.
        instruments=tracing.instruments(NoInstruments()) if tracing is not None else NoInstruments(),
        price_age=_price_age_watch(config, logger, registry, clock),
        settings=ExecutionSettings(
            default_max_attempts=config.default_max_attempts,
            total_deadline_s=config.total_deadline_s,
            local_deadline_s=config.local_deadline_s,
            local_min_confidence=dict(config.local_min_confidence),
        ),
        quality=quality,
    )
    router_service_pb2_grpc.add_RouterServiceServicer_to_server(  # type: ignore[no-untyped-call]
        RouterServicer(executor, book, stats, availability, clock=clock, max_price_age_days=config.max_price_age_days),
        service.server,
    )
    market = MarketFeed(
        nc,
        book,
        stats,
        estimator,
        logger,
        registry=registry,
        poll_url=config.pricing_poll_url,
        poll_interval_s=config.pricing_poll_interval_s,
        telemetry_observers=(quality_events.observe_telemetry,),
    )
    metrics_server = serve_metrics(registry, config.metrics_listen)

    async def close_events() -> None:
        await close_sharing(sharing)
        await quality_events.close()
        await market.close()
        await publisher.close()
        await connection.close()

    async def close_metrics() -> None:
        if metrics_server is not None:
            metrics_server.shutdown()

    # Run in reverse at stop: clients (in-flight routes drained), then events and NATS, then metrics.
    close_clients = functools.partial(_close_clients, executor, provider, cache, local)
    service.closers.extend([close_metrics, close_events, close_clients])

    parts = RouterParts(
        service.port,
        book,
        stats,
        policy,
        executor,
        publisher,
        market,
        cache,
        registry,
        sharing,
        connection,
        quality_events,
    )
    service.startup.append(functools.partial(_start, config, service, parts, quality, logger))
    follow_replacements(
        connection,
        service,
        nats_metrics,
        publisher=publisher,
        store=store,
        bucket=config.budget_bucket,
        sharing=sharing,
        market=market,
        quality=quality_events,
    )
    return service, parts


def _resilience(
    config: RouterConfig, book: PriceBook
) -> tuple[CircuitBreakers, RetryAfterBook, ModelAvailability, FailoverPolicy]:
    circuits = CircuitBreakers(
        failure_threshold=config.circuit_failure_threshold,
        open_s=config.circuit_open_s,
        half_open_probes=config.circuit_half_open_probes,
    )
    retry_after = RetryAfterBook()
    headroom = RateLimitHeadroom(_rate_limits(book), share=config.rate_limit_share) if config.rate_limit_share else None
    availability = ModelAvailability(circuits, retry_after, headroom)
    policy = FailoverPolicy(
        circuits, retry_after, default_retry_after_s=config.default_retry_after_s, headroom=headroom
    )
    return circuits, retry_after, availability, policy


def _budgets(
    config: RouterConfig,
    store: KvCounterStore | None,
    events: RouterEvents,
    registry: CollectorRegistry,
    logger: structlog.typing.FilteringBoundLogger,
) -> Budgets:
    return Budgets(
        [
            (r.tenant, r.key_id, Limits(r.daily_micro_usd, r.monthly_micro_usd, r.requests_per_minute))
            for r in config.budgets
        ],
        store,
        on_alert=events.alert,
        thresholds_pct=config.budget_alert_thresholds_pct,
        clock=time.time,
        logger=logger,
        metrics=BudgetMetrics.create(PrometheusInstruments(registry, prefix="bourse_router_")),
    )


async def _start(
    config: RouterConfig,
    service: ServiceServer,
    parts: RouterParts,
    quality: QualityRouting,
    logger: structlog.typing.FilteringBoundLogger,
) -> None:
    """The start-up step: the latest prices from JetStream, the quality predictor and its encoder (loaded in a
    worker thread), then the shared quality evidence replayed, all before the router says it is ready."""
    await parts.market.start()
    await load_scorer(config.quality, quality)
    if parts.quality is not None:
        await parts.quality.start()
    logger.info("router_ready", port=service.port, models=len(parts.book.current.entries))


async def _share_availability(
    config: RouterConfig,
    nc: NATS,
    retry_after: RetryAfterBook,
    circuits: CircuitBreakers,
    *,
    logger: structlog.typing.FilteringBoundLogger,
    registry: CollectorRegistry,
) -> AvailabilitySharing | None:
    """Publish this replica's Retry-After and circuit news and apply the other replicas' (one id per process)."""
    if not config.share_availability:
        return None
    sharing = AvailabilitySharing(
        nc, retry_after, circuits, logger, replica_id=new_replica_id(), registry=registry, clock=time.monotonic
    )
    await sharing.start()
    return sharing


async def _close_clients(
    executor: RouteExecutor, provider: ProviderClient, cache: CacheClient | None, local: InferenceClient | None
) -> None:
    await executor.drain()
    await provider.close()
    if cache is not None:
        await cache.close()
    if local is not None:
        await local.close()


def _recorder(events: RouterEvents, quality: QualityEvents) -> Callable[[RouteOutcome], None]:
    def record(outcome: RouteOutcome) -> None:
        events.record(outcome)
        quality.observe_outcome(outcome)

    return record


def _price_age_watch(
    config: RouterConfig,
    logger: structlog.typing.FilteringBoundLogger,
    registry: CollectorRegistry,
    clock: Callable[[], float],
) -> PriceAgeWatch:
    age = Gauge(
        "bourse_router_price_age_days",
        "Age in days of the newest price of a model routed to with stale prices",
        ["provider", "model"],
        registry=registry,
    )
    routes = Counter(
        "bourse_router_stale_price_routes_total",
        "Requests answered by a model whose newest price is older than max_price_age_days",
        ["provider", "model"],
        registry=registry,
    )

    def on_stale(key: str, days: int) -> None:
        provider, _, model = key.partition("/")
        age.labels(provider, model).set(days)
        routes.labels(provider, model).inc()

    def warn(key: str, days: int) -> None:
        logger.warning(
            "stale_prices",
            model=key,
            age_days=days,
            max_age_days=config.max_price_age_days,
            hint="run `bourse pricing refresh`, or publish current prices on bourse.pricing.*",
        )

    return PriceAgeWatch(max_age_days=config.max_price_age_days, clock=clock, on_stale=on_stale, warn=warn)


def _rate_limits(book: PriceBook) -> Callable[[str, str], RateLimits | None]:
    def limits(provider: str, model: str) -> RateLimits | None:
        entry = book.current.get(provider, model)
        return entry.rate_limits if entry is not None else None

    return limits
