"""The router's NATS client health: a closed client is replaced (shared/events/healing.py), the parts that hold it
move to the new one, and gRPC health is NOT_SERVING in between. Metrics of the event pipe live here too."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.router.availability_events import AvailabilitySharing
from services.router.budget_store import KvCounterStore
from services.router.market import MarketFeed
from services.router.quality_events import QualityEvents
from shared.events.healing import HealingConnection
from shared.events.publisher import EventPublisher
from shared.serving import ServiceServer


@dataclass
class NatsMetrics:
    """The router's view of its event pipe: client replacements, health, dead letters."""

    up: Gauge
    replaced: Counter
    dead_letters: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> NatsMetrics:
        return cls(
            up=Gauge(
                "bourse_router_nats_up", "1 while the NATS client can carry events, 0 while replaced", registry=registry
            ),
            replaced=Counter(
                "bourse_router_nats_clients_replaced",
                "NATS clients closed by the library and replaced",
                registry=registry,
            ),
            dead_letters=Counter(
                "bourse_events_dead_lettered",
                "Events parked on the BOURSE_DEAD_LETTER stream, by service and reason",
                ["service", "reason"],
                registry=registry,
            ),
        )

    def dead_lettered(self, reason: str) -> None:
        self.dead_letters.labels("router", reason).inc()


@dataclass
class NatsHealth:
    """Turns health NOT_SERVING while the NATS client is closed, SERVING again once replaced (after start-up, and
    never again once stopping)."""

    service: ServiceServer
    metrics: NatsMetrics
    ready: bool = False
    stopping: bool = False

    def __post_init__(self) -> None:
        self.metrics.up.set(1)

    async def nats_state(self, connected: bool) -> None:
        self.metrics.up.set(1 if connected else 0)
        if connected:
            self.metrics.replaced.inc()
        if self.ready and not self.stopping:
            await self.service.set_serving(connected)


def follow_replacements(
    connection: HealingConnection,
    service: ServiceServer,
    metrics: NatsMetrics,
    *,
    publisher: EventPublisher,
    store: KvCounterStore | None,
    bucket: str,
    sharing: AvailabilitySharing | None,
    market: MarketFeed,
    quality: QualityEvents | None = None,
) -> NatsHealth:
    """Move the publisher, the budget store, the feeds and the quality evidence to each replacement client;
    health follows the client once the start-up steps added before this call are done, and no more once the
    service stops."""
    health = NatsHealth(service, metrics)

    async def ready() -> None:
        health.ready = True

    async def stopping() -> None:
        health.stopping = True

    service.startup.append(ready)
    service.closers.append(stopping)  # closers run in reverse: before NATS is closed

    async def move_to(fresh: NATS) -> None:
        publisher.use(fresh)
        if store is not None:
            await store.rebind(fresh.jetstream(), bucket)
        if sharing is not None:
            await sharing.rebind(fresh)
        await market.rebind(fresh)
        if quality is not None:
            await quality.rebind(fresh)

    connection.on_replaced(move_to)
    connection.on_state(health.nats_state)
    return health
