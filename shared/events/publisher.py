"""Fire-and-forget JetStream publishing that never adds waiting to the request path.

`EventPublisher.publish(subject, event, msg_id)` encodes and enqueues (O(1), no await). A background task
publishes with JetStream acks (bounded in flight) and the Nats-Msg-Id header, so a redelivery inside the
stream's duplicate window is dropped by the server. Events that cannot be published (NATS down, no ack) stay
in an ordered backlog and are retried in order; the backlog is bounded and overflow is counted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass, field

import msgspec
import nats.errors
import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import PubAck

_encoder = msgspec.json.Encoder()


@dataclass
class PublisherStats:
    published: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    backlog: int = 0
    in_flight: int = 0


@dataclass(frozen=True, slots=True)
class _Pending:
    subject: str
    payload: bytes
    msg_id: str


@dataclass
class EventPublisher:
    """Publishes events to JetStream from a background task. Call `start()` once, `close()` at shutdown."""

    nc: NATS
    logger: structlog.typing.FilteringBoundLogger
    max_backlog: int = 100_000
    max_in_flight: int = 256
    ack_timeout_s: float = 5.0
    retry_interval_s: float = 0.5
    stats: PublisherStats = field(default_factory=PublisherStats)
    _queue: collections.deque[_Pending] = field(default_factory=collections.deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _closing: bool = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="event-publisher")

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
        while self._queue or self.stats.in_flight:
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

    async def _run(self) -> None:
        js = self.nc.jetstream(publish_async_max_pending=self.max_in_flight)
        while not self._closing:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_in_flight))]
            self.stats.backlog = len(self._queue)
            self.stats.in_flight = len(batch)
            failed = await self._publish_batch(js, batch)
            self.stats.in_flight = 0
            if failed:
                # Put failures back at the front in their original order, then wait before retrying.
                self._queue.extendleft(reversed(failed))
                self.stats.backlog = len(self._queue)
                self.stats.failed_attempts += len(failed)
                await asyncio.sleep(self.retry_interval_s)

    async def _publish_batch(self, js: JetStreamContext, batch: list[_Pending]) -> list[_Pending]:
        sent: list[tuple[_Pending, asyncio.Future[PubAck]]] = []
        failed: list[_Pending] = []
        for item in batch:
            try:
                fut = await js.publish_async(
                    item.subject, item.payload, headers={"Nats-Msg-Id": item.msg_id}, wait_stall=self.ack_timeout_s
                )
                sent.append((item, fut))
            except (nats.errors.Error, OSError) as error:  # NATS down or stalled: keep it for the retry loop
                self.logger.debug("publish_failed", subject=item.subject, error=repr(error))
                failed.append(item)
        if sent:
            await asyncio.wait([fut for _, fut in sent], timeout=self.ack_timeout_s)
        for item, fut in sent:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.stats.published += 1
            else:  # no ack: retry later (dedup by msg id makes a double publish harmless)
                if not fut.done():
                    fut.cancel()
                failed.append(item)
        # Keep the original order among failures: unsent ones may precede unacked ones in `batch`.
        order = {id(item): index for index, item in enumerate(batch)}
        failed.sort(key=lambda item: order[id(item)])
        return failed
