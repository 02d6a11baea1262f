"""Fire-and-forget JetStream publishing that never adds waiting to the request path.

`EventPublisher.publish(subject, event, msg_id)` encodes and enqueues (O(1), no await). A background task
publishes with JetStream acks (bounded in flight) and the Nats-Msg-Id header, so a redelivery inside the
stream's duplicate window is dropped by the server. Events that cannot be published (NATS down, no ack) stay
in an ordered backlog and are retried in order; the backlog is bounded and overflow is counted.

With a `spool` (shared.events.spool.EventSpool), events that cannot be published go to a bounded append-only
file instead of staying in memory: while NATS is unreachable the in-memory backlog is moved there in order, and
when NATS returns the spool is replayed, oldest first, before anything newer. A replayed event that NATS had in
fact received is dropped by the Nats-Msg-Id dedup (and the ledger's writes are idempotent by request id).

An event that can never be published (a subject nats-server would close the connection for, a payload over the
limit, a msg id that would corrupt the headers, or one JetStream refused for good) is not retried: it is sent to the
dead-letter stream instead (shared/events/dead_letters.py), so it never blocks the events behind it, in memory or
in the spool. `nc` may be swapped for a new client (`use`) when shared.events.healing replaced a closed one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import PubAck

from shared.events import dead_letters
from shared.events.spool import EventSpool, SpooledEvent

_encoder = msgspec.json.Encoder()


@dataclass
class PublisherStats:
    published: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    backlog: int = 0
    in_flight: int = 0
    spooled: int = 0  # events written to the spool
    replayed: int = 0  # spooled events acknowledged by JetStream after a replay
    spool_bytes: int = 0
    dead_lettered: int = 0  # events parked on the dead-letter stream instead of published


_Pending = SpooledEvent


@dataclass
class EventPublisher:
    """Publishes events to JetStream from a background task. Call `start()` once, `close()` at shutdown."""

    nc: NATS
    logger: structlog.typing.FilteringBoundLogger
    max_backlog: int = 100_000
    max_in_flight: int = 256
    ack_timeout_s: float = 5.0
    retry_interval_s: float = 0.5
    spool: EventSpool | None = None
    stats: PublisherStats = field(default_factory=PublisherStats)
    _queue: collections.deque[_Pending] = field(default_factory=collections.deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _closing: bool = False
    _context_broken: bool = False
    # Called with the reason of each event parked on the dead-letter stream (services count it in a metric).
    on_dead_letter: Callable[[str], None] | None = None
    _refused: set[str] = field(default_factory=set)  # msg ids JetStream refused for good: dead-letter them

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="event-publisher")

    def use(self, nc: NATS) -> None:
        """Publish through `nc` from now on (a replaced client); what failed on the old one is retried."""
        self.nc = nc
        self._context_broken = True
        self._wake.set()

    def publish(self, subject: str, event: msgspec.Struct, msg_id: str) -> None:
        """Enqueue an event; returns at once. Never raises on the request path."""
        self.enqueue_raw(subject, _encoder.encode(event), msg_id)

    def enqueue_raw(self, subject: str, payload: bytes, msg_id: str) -> None:
        if len(self._queue) >= self.max_backlog:
            self._queue.popleft()
            self.stats.dropped += 1
        self._queue.append(_Pending(subject, payload, msg_id))
        self.stats.backlog = len(self._queue)
        self._wake.set()

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything enqueued so far is acknowledged (or the timeout passes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._queue or self.stats.in_flight or (self.spool is not None and self.spool.pending):
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def close(self, timeout_s: float = 5.0) -> None:
        await self.flush(timeout_s)
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.spool is not None:
            if self._queue:  # NATS still away at shutdown: keep the rest on disk
                self._spill(self.spool, [])
            self.spool.close()

    async def _run(self) -> None:
        js = self._new_context()
        if self.spool is not None:
            self.stats.spool_bytes = self.spool.pending_bytes
        while not self._closing:
            if self._context_broken:
                js = self._new_context()
            if self.spool is not None and (self.spool.pending or not self.nc.is_connected):
                await self._run_spooled(js, self.spool)
                continue
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_in_flight))]
            self.stats.backlog = len(self._queue)
            self.stats.in_flight = len(batch)
            try:
                failed = await self._publish_batch(js, batch)
            except asyncio.CancelledError:
                if self.spool is not None:  # closing mid-batch: keep what was not acknowledged
                    self._spill(self.spool, batch)
                raise
            self.stats.in_flight = 0
            if failed and self.spool is not None:
                self.stats.failed_attempts += len(failed)
                self._spill(self.spool, failed)
                await asyncio.sleep(self.retry_interval_s)
            elif failed:
                # Put failures back at the front in their original order, then wait before retrying.
                self._queue.extendleft(reversed(failed))
                self.stats.backlog = len(self._queue)
                self.stats.failed_attempts += len(failed)
                await asyncio.sleep(self.retry_interval_s)

    def _new_context(self) -> JetStreamContext:
        self._context_broken = False
        return self.nc.jetstream(publish_async_max_pending=self.max_in_flight)

    async def _run_spooled(self, js: JetStreamContext, spool: EventSpool) -> None:
        """One step while the spool is in use: spill memory to it while NATS is away, else replay it in order."""
        if not self.nc.is_connected:
            self._spill(spool, [])
            await asyncio.sleep(self.retry_interval_s)
            return
        batch, end = spool.peek(self.max_in_flight)
        self.stats.in_flight = len(batch)
        failed = await self._publish_batch(js, batch)
        self.stats.in_flight = 0
        if failed:
            # Keep the offset: the whole batch is replayed later, and dedup drops the parts that did arrive.
            self.stats.failed_attempts += len(failed)
            self._spill(spool, [])
            await asyncio.sleep(self.retry_interval_s)
            return
        spool.commit(end)
        self.stats.replayed += len(batch)
        self.stats.spool_bytes = spool.pending_bytes

    def _spill(self, spool: EventSpool, failed: list[_Pending]) -> None:
        """Move `failed` and then the whole in-memory backlog to the spool, keeping their order."""
        items = [*failed, *self._queue]
        self._queue.clear()
        written = spool.append(items) if items else 0
        if written < len(items):
            self.stats.dropped += len(items) - written
            self.logger.warning("event_spool_full", dropped=len(items) - written, max_bytes=spool.max_bytes)
        self.stats.spooled += written
        self.stats.backlog = 0
        self.stats.spool_bytes = spool.pending_bytes

    async def _publish_batch(self, js: JetStreamContext, batch: list[_Pending]) -> list[_Pending]:
        sent: list[tuple[_Pending, asyncio.Future[PubAck], str]] = []
        failed: list[_Pending] = []
        max_payload = self.nc.max_payload if self.nc.is_connected else 0
        for item in batch:
            subject, payload, headers, parked = item.subject, item.payload, {"Nats-Msg-Id": item.msg_id}, ""
            found = dead_letters.problem(item.subject, item.payload, item.msg_id, max_payload)
            if found is None and item.msg_id in self._refused:
                found = dead_letters.DeadLetterReason.REJECTED_BY_STREAM, "JetStream refused it"
            if found is not None:
                letter = dead_letters.dead_letter(item.subject, item.payload, item.msg_id, *found)
                subject, payload, headers, parked = letter.subject, letter.payload, letter.headers, str(found[0])
            try:
                # No wait_stall: its wait_for costs a task and a socket write per message (6x slower here). A
                # batch never holds more than max_in_flight permits, and every earlier future is done or
                # cancelled (releasing its permit) before the next batch, so acquiring never waits.
                fut = await js.publish_async(subject, payload, headers=headers)
                sent.append((item, fut, parked))
            except (nats.errors.Error, OSError) as error:  # NATS closed or buffer full: keep it for the retry loop
                self.logger.debug("publish_failed", subject=item.subject, error=repr(error))
                failed.append(item)
                # nats-py keeps the permit of a publish that raised: start a fresh context so none are lost.
                self._context_broken = True
        if sent:
            await asyncio.wait([fut for _, fut, _ in sent], timeout=self.ack_timeout_s)
        for item, fut, parked in sent:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.stats.published += 1
                if parked:
                    self._parked(item, parked)
            else:  # no ack: retry later (dedup by msg id makes a double publish harmless)
                if not fut.done():
                    fut.cancel()
                elif not fut.cancelled() and isinstance(fut.exception(), nats.js.errors.BadRequestError):
                    if parked:  # the dead letter itself was refused: nothing more can be done with it
                        self._drop_refused(item)
                        continue
                    self._refuse(item, fut.exception())
                failed.append(item)
        # Keep the original order among failures: unsent ones may precede unacked ones in `batch`.
        order = {id(item): index for index, item in enumerate(batch)}
        failed.sort(key=lambda item: order[id(item)])
        return failed

    def _parked(self, item: _Pending, reason: str) -> None:
        self.stats.dead_lettered += 1
        self._refused.discard(item.msg_id)
        self.logger.warning("event_dead_lettered", subject=item.subject[:256], reason=reason, bytes=len(item.payload))
        if self.on_dead_letter is not None:
            self.on_dead_letter(reason)

    def _refuse(self, item: _Pending, error: BaseException | None) -> None:
        """JetStream refused the event for good (a 400): the next try parks it as a dead letter instead."""
        if len(self._refused) < 10_000:
            self._refused.add(item.msg_id)
        self.logger.warning("event_refused", subject=item.subject[:256], error=repr(error))

    def _drop_refused(self, item: _Pending) -> None:
        self._refused.discard(item.msg_id)
        self.stats.dropped += 1
        self.logger.error("dead_letter_dropped", subject=item.subject[:256], bytes=len(item.payload))
