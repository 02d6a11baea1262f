"""The cache on the event log: bad-hit events, and replication between cache replicas.

Scheme (docs/cache.md, "Several replicas"): every replica publishes what it changes on the BOURSE_CACHE stream and
applies the whole stream, its own messages included, in stream order:
- `bourse.cache.store.<tenant>`: a stored entry with its vector (msgpack), so replicas do not re-embed;
- `bourse.cache.invalidate.<tenant>`: an entry or a whole tenant removed (msgpack);
- `bourse.cache.bad_hit.<tenant>`: a wrong hit reported (JSON, no prompt or answer text): counted and evicted.
Applying is idempotent (entries are keyed by their deterministic entry key and creation time) and the last applied
stream sequence is committed in the same SQLite transaction as the change, so a restarted replica resumes exactly
where it stopped and a new one replays the stream (bounded by the longest TTL).
The store messages carry cached answers: the stream holds the same data as the cache's own disk, and its
retention is the maximum TTL.
"""

from __future__ import annotations

import asyncio
import time

import msgspec
import nats.js.api as js_api
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.cache.core.cache import ResponseCache, StoreRecord
from shared.events import subjects
from shared.events.publisher import EventPublisher
from shared.events.streams import DAY_S, GIB, StreamSpec, ensure_streams

STORE = f"{subjects.CACHE_PREFIX}.store"
INVALIDATE = f"{subjects.CACHE_PREFIX}.invalidate"
BAD_HIT = f"{subjects.CACHE_PREFIX}.bad_hit"
STREAM_NAME = "BOURSE_CACHE"


def cache_stream(max_ttl_s: float) -> StreamSpec:
    return StreamSpec(
        "BOURSE_CACHE", (f"{subjects.CACHE_PREFIX}.>",), max_age_s=max(max_ttl_s, DAY_S), max_bytes=4 * GIB
    )


class ReplicatedStore(msgspec.Struct, kw_only=True):
    v: int = 1
    origin: str
    record: StoreRecord


class ReplicatedInvalidation(msgspec.Struct, kw_only=True):
    v: int = 1
    origin: str
    entry_key: str = ""
    tenant: str = ""
    namespace: str = ""
    before_ms: int = 0


class CacheBadHit(msgspec.Struct, kw_only=True):
    """Published on bourse.cache.bad_hit.<tenant> when a client reports a wrong hit."""

    v: int = 1
    ts_ms: int
    tenant: str
    entry_key: str
    request_id: str = ""
    note: str = ""
    evicted: bool = False
    replica: str = ""
    # Where the reporting replica served the entry semantically, and at what verifier score: every replica
    # tightens that namespace the same way.
    namespace: str = ""
    score: float = 0.0


_msgpack = msgspec.msgpack.Encoder()
_store_decoder = msgspec.msgpack.Decoder(ReplicatedStore)
_invalidation_decoder = msgspec.msgpack.Decoder(ReplicatedInvalidation)
_bad_hit_decoder = msgspec.json.Decoder(CacheBadHit)


class CacheEvents:
    """Publishes the cache's events and, when replication is on, applies the other replicas' changes."""

    def __init__(
        self,
        *,
        nc: NATS,
        publisher: EventPublisher,
        cache: ResponseCache,
        logger: structlog.typing.FilteringBoundLogger,
        replica_id: str,
        replicate: bool,
        max_ttl_s: float,
    ) -> None:
        self._nc = nc
        self._publisher = publisher
        self._cache = cache
        self._logger = logger
        self.replica_id = replica_id
        self.replicate = replicate
        self._max_ttl_s = max_ttl_s
        self._subscription: Subscription | None = None
        self.applied = 0

    async def start(self) -> None:
        await ensure_streams(self._nc.jetstream(), (cache_stream(self._max_ttl_s),))
        if not self.replicate:
            return
        start = await asyncio.to_thread(self._cache.replication_sequence)
        state = (await self._nc.jetstream().stream_info(STREAM_NAME)).state
        if start > state.last_seq:  # the stream was recreated (new NATS storage): replay it from the start
            self._logger.warning("cache_replication_reset", applied=start, stream_last=state.last_seq)
            start = 0
        config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start + 1)
        self._subscription = await self._nc.jetstream().subscribe(
            f"{subjects.CACHE_PREFIX}.>", cb=self._on_message, ordered_consumer=True, config=config
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    # ---- publishing -----------------------------------------------------------------------------------------
    def stored(self, record: StoreRecord) -> None:
        if self.replicate:
            payload = _msgpack.encode(ReplicatedStore(origin=self.replica_id, record=record))
            msg_id = f"store:{record.entry_key}:{record.created_ms}"
            self._publisher.enqueue_raw(f"{STORE}.{subjects.token(record.tenant)}", payload, msg_id)

    def invalidated(self, *, entry_key: str = "", tenant: str = "", namespace: str = "", before_ms: int = 0) -> None:
        if self.replicate:
            event = ReplicatedInvalidation(
                origin=self.replica_id, entry_key=entry_key, tenant=tenant, namespace=namespace, before_ms=before_ms
            )
            msg_id = f"invalidate:{entry_key or namespace or tenant}:{before_ms or time.time_ns()}"
            self._publisher.enqueue_raw(f"{INVALIDATE}.{subjects.token(tenant)}", _msgpack.encode(event), msg_id)

    def bad_hit(self, event: CacheBadHit) -> None:
        msg_id = f"bad_hit:{event.entry_key}:{event.request_id or event.ts_ms}"
        self._publisher.publish(f"{BAD_HIT}.{subjects.token(event.tenant)}", event, msg_id)

    # ---- applying -------------------------------------------------------------------------------------------
    async def _on_message(self, msg: Msg) -> None:
        sequence = msg.metadata.sequence.stream
        try:
            await asyncio.to_thread(self._apply, msg.subject, msg.data, sequence)
            self.applied += 1
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            self._logger.warning("cache_replication_bad_message", subject=msg.subject, error=str(error))

    def _apply(self, subject: str, data: bytes, sequence: int) -> None:
        cache = self._cache
        if subject.startswith(f"{STORE}."):
            cache.apply_store(_store_decoder.decode(data).record, sequence)
        elif subject.startswith(f"{INVALIDATE}."):
            event = _invalidation_decoder.decode(data)
            if event.entry_key:
                cache.invalidate_key(event.entry_key, sequence)
            elif event.namespace:
                cache.invalidate_namespace(event.namespace, event.before_ms, sequence)
            else:
                cache.invalidate_tenant(event.tenant, event.before_ms, sequence)
        elif subject.startswith(f"{BAD_HIT}."):
            bad = _bad_hit_decoder.decode(data)
            cache.apply_bad_hit(bad.entry_key, bad.namespace, bad.score, sequence)
