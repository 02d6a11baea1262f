"""JetStream edge of the ledger: durable pull consumers for telemetry and feedback, acked after the write.

Each fetched batch is decoded, written in one DuckDB transaction, and only then acknowledged (AckAll on the
last message of the batch). A crash between write and ack redelivers the batch, and the idempotent writes make
that harmless. Undecodable events are counted, logged and acknowledged so they cannot block the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
import nats.errors
import nats.js.api as js_api
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from shared.errors import InvalidRequest
from shared.events import streams
from shared.events.schemas import Feedback, TelemetryEvent

from .core.feedback import validate_feedback
from .core.store import LedgerStore
from .metrics import LedgerMetrics

WRITE_RETRY_S = 1.0


@dataclass
class IngestStats:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    feedback: int = 0


@dataclass
class LedgerConsumers:
    """Runs the telemetry and feedback consumers as background tasks until `close()`."""

    js: JetStreamContext
    store: LedgerStore
    metrics: LedgerMetrics
    logger: structlog.typing.FilteringBoundLogger
    consumer_name: str = "ledger"
    fetch_batch: int = 1000
    ack_wait_s: float = 30.0
    stats: IngestStats = field(default_factory=IngestStats)
    on_stored: Callable[[int], None] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _telemetry_decoder: msgspec.json.Decoder[TelemetryEvent] = field(
        default_factory=lambda: msgspec.json.Decoder(TelemetryEvent)
    )
    _feedback_decoder: msgspec.json.Decoder[Feedback] = field(default_factory=lambda: msgspec.json.Decoder(Feedback))

    async def start(self) -> None:
        await streams.ensure_streams(self.js)
        telemetry = await self._subscribe(streams.TELEMETRY, self.consumer_name)
        feedback = await self._subscribe(streams.FEEDBACK, f"{self.consumer_name}-feedback")
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._consume(telemetry, self._write_telemetry), name="ledger-telemetry"),
            loop.create_task(self._consume(feedback, self._write_feedback), name="ledger-feedback"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _subscribe(self, spec: streams.StreamSpec, durable: str) -> JetStreamContext.PullSubscription:
        config = js_api.ConsumerConfig(
            durable_name=durable,
            ack_policy=js_api.AckPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=max(10 * self.fetch_batch, 10_000),
            deliver_policy=js_api.DeliverPolicy.ALL,
        )
        return await self.js.pull_subscribe(spec.subjects[0], durable=durable, stream=spec.name, config=config)

    async def _consume(
        self, sub: JetStreamContext.PullSubscription, write: Callable[[list[Msg]], Awaitable[None]]
    ) -> None:
        while True:
            try:
                msgs = await sub.fetch(self.fetch_batch, timeout=1.0)
            except TimeoutError:
                continue
            except nats.errors.Error as error:  # NATS away: the client reconnects; try again shortly
                self.logger.debug("ledger_fetch_failed", error=repr(error))
                await asyncio.sleep(WRITE_RETRY_S)
                continue
            while True:
                try:
                    await write(msgs)
                    break
                except Exception as error:
                    self.logger.exception("ledger_write_failed", error=repr(error), batch=len(msgs))
                    self.metrics.rejected.labels("write_failed").inc(len(msgs))
                    await asyncio.sleep(WRITE_RETRY_S)
            with contextlib.suppress(nats.errors.Error):  # a lost ack means a redelivery, which changes nothing
                await msgs[-1].ack()

    def _reject(self, msg: Msg, reason: str, error: Exception) -> None:
        self.stats.rejected += 1
        self.metrics.rejected.labels(reason).inc()
        self.logger.warning("ledger_event_rejected", subject=msg.subject, reason=reason, error=str(error))

    async def _write_telemetry(self, msgs: list[Msg]) -> None:
        events: list[TelemetryEvent] = []
        for msg in msgs:
            try:
                events.append(self._telemetry_decoder.decode(msg.data))
            except msgspec.DecodeError as error:
                self._reject(msg, "malformed_telemetry", error)
        if not events:
            return
        with self.metrics.batch_seconds.time():
            new = await asyncio.to_thread(self.store.insert_requests, events)
        self.stats.stored += len(new)
        self.stats.duplicates += len(events) - len(new)
        self.metrics.events.labels("telemetry", "stored").inc(len(new))
        if len(events) > len(new):
            self.metrics.events.labels("telemetry", "duplicate").inc(len(events) - len(new))
        self.metrics.observe_stored(new)
        if self.on_stored is not None and new:
            self.on_stored(len(new))

    async def _write_feedback(self, msgs: list[Msg]) -> None:
        items: list[Feedback] = []
        for msg in msgs:
            try:
                item = self._feedback_decoder.decode(msg.data)
                validate_feedback(item)
                items.append(item)
            except (msgspec.DecodeError, InvalidRequest) as error:
                self._reject(msg, "invalid_feedback", error)
        if items:
            await asyncio.to_thread(self.store.insert_feedback, items)
            self.stats.feedback += len(items)
            self.metrics.events.labels("feedback", "stored").inc(len(items))
