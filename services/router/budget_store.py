"""Budget counters in a NATS KV bucket, updated with compare-and-set so router replicas never lose an update."""

from __future__ import annotations

import nats.js.api as js_api
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

_MAX_CAS_RETRIES = 64
_COUNTER_TTL_S = 40 * 24 * 3600.0  # a month's counter must outlive the month


class KvCounterStore:
    """Implements core.budgets.CounterStore on one KV bucket (history 1: only the current value matters)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str) -> KvCounterStore:
        try:
            kv = await js.key_value(bucket)
        except nats.js.errors.BucketNotFoundError:
            kv = await js.create_key_value(
                js_api.KeyValueConfig(bucket=bucket, history=1, ttl=_COUNTER_TTL_S, description="Bourse budgets")
            )
        return cls(kv)

    async def read(self, key: str) -> int:
        value, _ = await self._get(key)
        return value

    async def add(self, key: str, delta: int, *, ceiling: int | None = None) -> int | None:
        for _ in range(_MAX_CAS_RETRIES):
            value, revision = await self._get(key)
            new = value + delta
            if ceiling is not None and delta >= 0 and (new > ceiling or value >= ceiling):
                return None
            payload = str(new).encode()
            try:
                if revision == 0:
                    await self._kv.create(key, payload)
                else:
                    await self._kv.update(key, payload, last=revision)
                return new
            except nats.js.errors.KeyWrongLastSequenceError:
                continue  # another replica moved the counter: read again
        raise nats.js.errors.Error(f"budget counter {key} kept changing; gave up after {_MAX_CAS_RETRIES} tries")

    async def _get(self, key: str) -> tuple[int, int]:
        try:
            entry = await self._kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return 0, 0
        return int(entry.value or b"0"), int(entry.revision or 0)
