"""Virtual API keys in a NATS KV bucket, so every gateway replica and `bourse keys` see the same keys.

The bucket maps key id -> KeyRecord (JSON). The gateway keeps a local copy fed by a KV watcher, so checking a
key costs no round trip; a key it has not seen yet (created a moment ago) is read from the bucket directly.
Revocation is a put with revoked_ms set: the watcher applies it on every replica within milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from services.gateway.core.api_keys import KeyRecord
from shared.errors import BourseError, NotFound, Reason

_decode = msgspec.json.Decoder(KeyRecord)
_encode = msgspec.json.Encoder()


async def open_bucket(js: JetStreamContext, bucket: str) -> KeyValue:
    """The key bucket, created on first use (idempotent, safe from every replica)."""
    try:
        return await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(bucket=bucket, history=5, storage=StorageType.FILE))


class KeyStore:
    """Reads and writes key records; `watch()` keeps a local copy for the request path."""

    def __init__(self, kv: KeyValue, logger: structlog.typing.FilteringBoundLogger) -> None:
        self._kv = kv
        self._log = logger
        self._records: dict[str, KeyRecord] = {}
        self._watch_task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()

    async def put(self, record: KeyRecord) -> None:
        await self._kv.put(record.key_id, _encode.encode(record))
        self._records[record.key_id] = record

    async def fetch(self, key_id: str) -> KeyRecord | None:
        try:
            entry = await self._kv.get(key_id)
        except nats.js.errors.KeyNotFoundError:
            return None
        except (nats.errors.Error, TimeoutError) as error:
            # Keys already seen stay usable from the local copy; an unseen one cannot be checked now.
            raise BourseError(
                f"the API key store is unreachable: {type(error).__name__}",
                reason=Reason.KEY_STORE_UNAVAILABLE,
            ) from None
        if entry.value is None:
            return None
        return _decode.decode(entry.value)

    async def lookup(self, key_id: str) -> KeyRecord | None:
        """The record for a key id: the local copy, else the bucket (a key created after the last update)."""
        record = self._records.get(key_id)
        if record is not None:
            return record
        record = await self.fetch(key_id)
        if record is not None:
            self._records[key_id] = record
        return record

    async def revoke(self, key_id: str, now_ms: int) -> KeyRecord:
        record = await self.fetch(key_id)
        if record is None:
            raise NotFound(f"no API key with id {key_id}", reason=Reason.KEY_NOT_FOUND)
        if not record.revoked:
            record = msgspec.structs.replace(record, revoked_ms=now_ms)
            await self.put(record)
        return record

    async def list(self) -> list[KeyRecord]:
        try:
            ids = await self._kv.keys()
        except nats.js.errors.NoKeysError:
            return []
        records = [await self.fetch(key_id) for key_id in ids]
        return sorted((r for r in records if r is not None), key=lambda r: (r.tenant_id, r.created_ms))

    async def watch(self, timeout_s: float = 10.0) -> None:
        """Start following the bucket; returns once the current contents are loaded."""
        watcher = await self._kv.watchall()
        self._watch_task = asyncio.create_task(self._follow(watcher))
        await asyncio.wait_for(self._synced.wait(), timeout_s)

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        try:
            async for entry in watcher:
                if entry is None:  # the watcher's marker: every existing key has been delivered
                    self._synced.set()
                    continue
                if entry.operation in ("DEL", "PURGE") or not entry.value:
                    self._records.pop(entry.key, None)
                    continue
                try:
                    self._records[entry.key] = _decode.decode(entry.value)
                except msgspec.DecodeError:
                    self._log.warning("api_key_record_unreadable", key_id=entry.key)
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
