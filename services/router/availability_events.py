"""Retry-After blocks and circuit changes shared by every router replica over core NATS.

Each replica publishes what it learnt from a provider (a Retry-After, a circuit opening or closing) on
`bourse.circuit.<provider>.<model>` and applies what the others publish. The state is ephemeral, so this is core
NATS, not JetStream: nothing is stored, no stream is needed, and a replica that starts later learns nothing of
the past (it finds out on its own first failure, at worst one attempt). An event published while NATS is
unreachable is dropped, not queued: replayed late, its relative duration would extend a block that already ended.

Clock skew: events carry a relative `duration_ms`; the receiver adds it to its own monotonic clock on arrival
(transit adds a few milliseconds, which errs on the side of backing off). `until_ms` is informational.

Nothing here is awaited on the Route path: the core modules call a listener that only enqueues; one task
publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable

import msgspec
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import CollectorRegistry, Counter

from services.router.core.resilience.backoff import BlockAnnounced, RetryAfterBook
from services.router.core.resilience.circuit import CircuitAnnounced, CircuitBreakers
from shared.events import subjects
from shared.events.schemas import AvailabilityEvent

SUBSCRIPTION = f"{subjects.CIRCUIT_PREFIX}.>"
QUEUE_LIMIT = 1024
KINDS = frozenset({"retry_after", "circuit_open", "circuit_closed"})


def new_replica_id() -> str:
    """A fresh id for one router process (events carrying it are this replica's own)."""
    return uuid.uuid4().hex[:16]


async def close_sharing(sharing: AvailabilitySharing | None) -> None:
    if sharing is not None:
        await sharing.close()


class AvailabilitySharing:
    """Publishes this replica's Retry-After and circuit news and applies the other replicas'."""

    def __init__(
        self,
        nc: NATS,
        retry_after: RetryAfterBook,
        circuits: CircuitBreakers,
        logger: structlog.typing.FilteringBoundLogger,
        *,
        replica_id: str,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._nc = nc
        self._retry_after = retry_after
        self._circuits = circuits
        self._logger = logger
        self.replica_id = replica_id
        self._clock = clock
        self._registry = registry
        self._queue: asyncio.Queue[AvailabilityEvent] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(AvailabilityEvent)
        self._events = Counter(
            "bourse_router_availability_events",
            "Shared Retry-After and circuit events, by direction and outcome",
            ["direction", "outcome"],
            registry=registry,
        )
        self._sender: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._nc.subscribe(SUBSCRIPTION, cb=self._on_message)
        self._sender = asyncio.create_task(self._send_loop(), name="availability-publisher")
        self._retry_after.set_listener(self._on_block)
        self._circuits.set_listener(self._on_circuit)

    async def rebind(self, nc: NATS) -> None:
        """Follow the other replicas through a new client (shared.events.healing replaced a closed one)."""
        self._nc = nc
        self._subscription = await nc.subscribe(SUBSCRIPTION, cb=self._on_message)

    async def close(self) -> None:
        self._retry_after.set_listener(None)
        self._circuits.set_listener(None)
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    # ---- outgoing: called synchronously from the Route path, so they only enqueue

    def _on_block(self, block: BlockAnnounced) -> None:
        self._enqueue(block.provider, block.model, "retry_after", block.delay_s)

    def _on_circuit(self, change: CircuitAnnounced) -> None:
        if change.opened:
            self._enqueue(change.provider, change.model, "circuit_open", change.open_s)
        else:
            self._enqueue(change.provider, change.model, "circuit_closed", 0.0)

    def _enqueue(self, provider: str, model: str, kind: str, duration_s: float) -> None:
        now_ms = int(time.time() * 1000)
        duration_ms = int(duration_s * 1000)
        event = AvailabilityEvent(
            provider=provider,
            model=model,
            kind=kind,
            duration_ms=duration_ms,
            until_ms=now_ms + duration_ms,
            origin=self.replica_id,
            ts_ms=now_ms,
        )
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._events.labels("out", "dropped").inc()

    async def _send_loop(self) -> None:
        while True:
            event = await self._queue.get()
            if not self._nc.is_connected:
                self._events.labels("out", "dropped").inc()  # stale by the time NATS is back: see the module doc
                continue
            try:
                await self._nc.publish(subjects.circuit(event.provider, event.model), self._encoder.encode(event))
            except Exception as error:  # noqa: BLE001 - a lost announcement costs other replicas one attempt
                self._events.labels("out", "failed").inc()
                self._logger.warning("availability_publish_failed", error=str(error), provider=event.provider)
            else:
                self._events.labels("out", "published").inc()

    # ---- incoming

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = self._decoder.decode(msg.data)
        except msgspec.DecodeError as error:
            self._reject(msg.subject, str(error))
            return
        if event.kind not in KINDS or not event.provider or (event.kind != "retry_after" and not event.model):
            self._reject(msg.subject, f"invalid event: kind {event.kind!r}, provider {event.provider!r}")
            return
        if event.duration_ms < 0:
            self._reject(msg.subject, f"negative duration_ms {event.duration_ms}")
            return
        if event.origin == self.replica_id:
            self._events.labels("in", "own").inc()
            return
        changed = self.apply(event)
        self._events.labels("in", "applied" if changed else "unchanged").inc()

    def apply(self, event: AvailabilityEvent) -> bool:
        """Apply another replica's event on this replica's clock; returns whether local state changed."""
        now = self._clock()
        duration_s = event.duration_ms / 1000.0
        if event.kind == "retry_after":
            return self._retry_after.apply_remote(event.provider, event.model, duration_s, now)
        if event.kind == "circuit_open":
            return self._circuits.apply_remote_open(event.provider, event.model, duration_s, now)
        return self._circuits.apply_remote_closed(event.provider, event.model, now)

    def _reject(self, subject: str, reason: str) -> None:
        self._events.labels("in", "rejected").inc()
        self._logger.warning("availability_event_rejected", subject=subject, reason=reason)

    def count(self, direction: str, outcome: str) -> float:
        """How many events went this way with this outcome (tests and ops read it)."""
        value = self._registry.get_sample_value(
            "bourse_router_availability_events_total", {"direction": direction, "outcome": outcome}
        )
        return value or 0.0
