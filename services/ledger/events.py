"""JetStream edge of the ledger: durable consumers for telemetry and feedback, acked after the write.

Delivered messages collect in an inbox; each batch (up to `fetch_batch`, or what arrived within LINGER_S) is
decoded, written in one DuckDB transaction, and only then acknowledged (AckAll on the last message of the
batch). The server delivers at most `max_ack_pending` unacknowledged messages, which bounds memory. A crash
between write and ack redelivers the batch, and the idempotent writes make that harmless.

Poison never blocks the stream: an event that does not decode or validate (the schemas bound their integers, so
`ts_ms = 1e30` is refused here) is dead-lettered, and a batch the store refuses for a value in it is bisected
(core/batch_isolation.py) so the rest is stored and only the refused rows are dead-lettered. Dead letters go to
BOURSE_DEAD_LETTER with the reason in a header (shared/events/dead_letters.py) before the batch is acknowledged.
A store that fails for any other reason (the disk) keeps the batch unacknowledged and retried, as before.

Push delivery is used rather than pull `fetch`: nats-py's fetch awaits each message with its own timeout, which
measured 1.4x slower here (bench/ledger_ingest.py). AckAll means one ledger instance per durable consumer name.
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
from shared.events import dead_letters, streams
from shared.events.dead_letters import DeadLetterReason
from shared.events.schemas import Feedback, TelemetryEvent

from .core.batch_isolation import store_isolating
from .core.feedback import validate_feedback
from .core.store import LedgerStore
from .metrics import LedgerMetrics

WRITE_RETRY_S = 1.0
LINGER_S = 0.05  # a partial batch is written after this long


class _Inbox:
    """Messages delivered by a push consumer, taken out in batches."""

    def __init__(self, batch: int) -> None:
        self._batch = batch
        self._msgs: list[Msg] = []
        self._full = asyncio.Event()

    async def put(self, msg: Msg) -> None:
        self._msgs.append(msg)
        if len(self._msgs) >= self._batch:
            self._full.set()

    async def take(self) -> list[Msg]:
        """Up to one batch: at once when a batch is waiting, else what arrived within LINGER_S."""
        if len(self._msgs) < self._batch:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), LINGER_S)
        self._full.clear()
        taken, self._msgs = self._msgs[: self._batch], self._msgs[self._batch :]
        if len(self._msgs) >= self._batch:
            self._full.set()
        return taken


@dataclass
class IngestStats:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    feedback: int = 0
    dead_lettered: int = 0


@dataclass
class LedgerConsumers:
    """Runs the telemetry and feedback consumers as background tasks until `close()`."""

    js: JetStreamContext
    store: LedgerStore
    metrics: LedgerMetrics
    logger: structlog.typing.FilteringBoundLogger
    consumer_name: str = "ledger"
    fetch_batch: int = 5000
    ack_wait_s: float = 30.0
    stats: IngestStats = field(default_factory=IngestStats)
    on_stored: Callable[[int], None] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _subs: list[JetStreamContext.PushSubscription] = field(default_factory=list)
    _stopping: bool = False
    _inboxes: tuple[_Inbox, _Inbox] = field(default_factory=lambda: (_Inbox(1), _Inbox(1)))
    _telemetry_decoder: msgspec.json.Decoder[TelemetryEvent] = field(
        default_factory=lambda: msgspec.json.Decoder(TelemetryEvent)
    )
    _feedback_decoder: msgspec.json.Decoder[Feedback] = field(default_factory=lambda: msgspec.json.Decoder(Feedback))

    async def start(self) -> None:
        await streams.ensure_streams(self.js)
        telemetry, feedback = _Inbox(self.fetch_batch), _Inbox(self.fetch_batch)
        self._inboxes = (telemetry, feedback)
        await self._subscribe_all()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._consume(telemetry, self._write_telemetry), name="ledger-telemetry"),
            loop.create_task(self._consume(feedback, self._write_feedback), name="ledger-feedback"),
        ]

    async def rebind(self, js: JetStreamContext) -> None:
        """Consume through a new client (shared.events.healing replaced a closed one): the durable consumers are
        bound again; what was delivered but not acked on the old client is redelivered after ack_wait_s."""
        self.js = js
        await self._subscribe_all()

    async def _subscribe_all(self) -> None:
        telemetry, feedback = self._inboxes
        self._subs = [
            await self._subscribe(streams.TELEMETRY, self.consumer_name, telemetry),
            await self._subscribe(streams.FEEDBACK, f"{self.consumer_name}-feedback", feedback),
        ]

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def close(self) -> None:
        # Let the loops finish the batch in hand (written and acked) and see the flag.
        self._stopping = True
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=WRITE_RETRY_S + 2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        for sub in self._subs:  # unacked messages stay with the durable consumer for the next start
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

    async def _subscribe(
        self, spec: streams.StreamSpec, durable: str, inbox: _Inbox
    ) -> JetStreamContext.PushSubscription:
        max_pending = max(10 * self.fetch_batch, 10_000)
        config = js_api.ConsumerConfig(
            durable_name=durable,
            ack_policy=js_api.AckPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=max_pending,
            deliver_policy=js_api.DeliverPolicy.ALL,
        )
        return await self.js.subscribe(
            spec.subjects[0],
            durable=durable,
            stream=spec.name,
            cb=inbox.put,
            manual_ack=True,
            config=config,
            pending_msgs_limit=4 * max_pending,  # redeliveries may double up what is in hand; never drop
            pending_bytes_limit=256 * 1024 * 1024,
        )

    async def _consume(self, inbox: _Inbox, write: Callable[[list[Msg]], Awaitable[None]]) -> None:
        # Delivery continues into the inbox while a batch is written (the write runs in a worker thread).
        while not self._stopping:
            msgs = await inbox.take()
            if msgs and await self._write_until_stored(msgs, write):
                with contextlib.suppress(nats.errors.Error):  # a lost ack means a redelivery, which changes nothing
                    await msgs[-1].ack()

    async def _write_until_stored(self, msgs: list[Msg], write: Callable[[list[Msg]], Awaitable[None]]) -> bool:
        """Retry a failed write (the batch is not acked meanwhile); False if the service stops first."""
        while not self._stopping:
            try:
                await write(msgs)
                return True
            except Exception as error:  # a store failure must not lose the batch: log it, retry it
                self.logger.exception("ledger_write_failed", error=repr(error), batch=len(msgs))
                self.metrics.rejected.labels("write_failed").inc(len(msgs))
                await asyncio.sleep(WRITE_RETRY_S)
        return False

    async def _reject(self, msg: Msg, reason: str, error: Exception | str, parked: DeadLetterReason) -> None:
        """Count and log a refused event, and park it on the dead-letter stream (raises if NATS cannot take it:
        the batch is then not acknowledged and comes back)."""
        self.stats.rejected += 1
        self.metrics.rejected.labels(reason).inc()
        self.logger.warning("ledger_event_rejected", subject=msg.subject[:256], reason=reason, error=str(error)[:500])
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "") or _sequence(msg)
        letter = dead_letters.dead_letter(msg.subject, msg.data, msg_id, parked, f"{reason}: {error}")
        await self.js.publish(letter.subject, letter.payload, headers=letter.headers)
        self.stats.dead_lettered += 1
        self.metrics.dead_letters.labels("ledger", str(parked)).inc()

    async def _write_telemetry(self, msgs: list[Msg]) -> None:
        events: list[TelemetryEvent] = []
        sources: dict[int, Msg] = {}
        for msg in msgs:
            try:
                event = self._telemetry_decoder.decode(msg.data)
            except msgspec.DecodeError as error:  # ValidationError included: a value out of the schema's bounds
                await self._reject(msg, "malformed_telemetry", error, DeadLetterReason.UNDECODABLE)
                continue
            events.append(event)
            sources[id(event)] = msg
        if not events:
            return
        with self.metrics.batch_seconds.time():
            new, refused = await asyncio.to_thread(store_isolating, self.store.insert_requests, events)
        for event, why in refused:
            await self._reject(sources[id(event)], "unstorable_telemetry", why, DeadLetterReason.UNSTORABLE)
        events = [event for event in events if all(event is not bad for bad, _ in refused)]
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
                await self._reject(msg, "invalid_feedback", error, DeadLetterReason.UNDECODABLE)
        if items:
            await asyncio.to_thread(self.store.insert_feedback, items)
            self.stats.feedback += len(items)
            self.metrics.events.labels("feedback", "stored").inc(len(items))


def _sequence(msg: Msg) -> str:
    """A stable id for a message without Nats-Msg-Id: its stream and sequence."""
    try:
        meta = msg.metadata
    except Exception:  # noqa: BLE001 -- not a JetStream message: no stable id to give
        return ""
    return f"{meta.stream}:{meta.sequence.stream}"
