"""Budget counters in a NATS KV bucket, updated with compare-and-set so router replicas never lose an update.

Under contention (many requests of one tenant on several replicas) a write loses the race and is retried after a
jittered exponential backoff, within a bounded number of tries and a deadline. Creating a new counter is a race
too: two replicas both see "no key" and both create; the loser gets "wrong last sequence", or "key not found"
when its read lands on a stream replica that has not applied the winner's create yet. Both are conflicts, read
again. A counter that cannot be written in time fails the call with UNAVAILABLE (BUDGET_STORE_CONTENDED), which
clients retry; a store that does not answer fails it with UNAVAILABLE (BUDGET_STORE_UNAVAILABLE).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import nats.errors
import nats.js.api as js_api
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from services.router.core.budgets import BudgetStoreUnavailable
from shared.errors import Reason

_COUNTER_TTL_S = 40 * 24 * 3600.0  # a month's counter must outlive the month
_WRONG_LAST_SEQUENCE = frozenset({10071, 10164})  # JetStream: expected last subject sequence did not match


@dataclass(frozen=True, slots=True)
class CasPolicy:
    """How long a compare-and-set keeps trying: `max_attempts` writes within `deadline_s`, sleeping a random
    time up to `base_backoff_s * 2**n` (capped at `max_backoff_s`) after the n-th lost race."""

    max_attempts: int = 200
    deadline_s: float = 5.0
    base_backoff_s: float = 0.002
    max_backoff_s: float = 0.1


def _is_conflict(error: Exception) -> bool:
    """A lost compare-and-set or create race: read the counter again and retry."""
    if isinstance(error, nats.js.errors.KeyWrongLastSequenceError | nats.js.errors.KeyNotFoundError):
        return True
    return isinstance(error, nats.js.errors.APIError) and error.err_code in _WRONG_LAST_SEQUENCE


class KvCounterStore:
    """Implements core.budgets.CounterStore on one KV bucket (history 1: only the current value matters)."""

    def __init__(self, kv: KeyValue, *, policy: CasPolicy | None = None, rng: random.Random | None = None) -> None:
        self._kv = kv
        self._policy = policy or CasPolicy()
        self._rng = rng or random.Random()
        self.conflicts = 0  # lost compare-and-set races since start (exported by the caller as it likes)

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, *, policy: CasPolicy | None = None) -> KvCounterStore:
        try:
            kv = await js.key_value(bucket)
        except nats.js.errors.BucketNotFoundError:
            kv = await js.create_key_value(
                js_api.KeyValueConfig(bucket=bucket, history=1, ttl=_COUNTER_TTL_S, description="Bourse budgets")
            )
        return cls(kv, policy=policy)

    async def rebind(self, js: JetStreamContext, bucket: str) -> None:
        """Use the bucket through another client (shared.events.healing replaced a closed one)."""
        self._kv = await js.key_value(bucket)

    async def read(self, key: str) -> int:
        value, _ = await self._get(key)
        return value

    async def add(self, key: str, delta: int, *, ceiling: int | None = None) -> int | None:
        policy = self._policy
        deadline = time.monotonic() + policy.deadline_s
        for attempt in range(policy.max_attempts):
            value, revision = await self._get(key)
            new = value + delta
            if ceiling is not None and delta >= 0 and (new > ceiling or value >= ceiling):
                return None
            try:
                await self._write(key, str(new).encode(), revision)
                return new
            except (nats.js.errors.APIError, nats.js.errors.KeyValueError) as error:
                if not _is_conflict(error):
                    raise BudgetStoreUnavailable(
                        f"budget store refused the write of {key}: {error}",
                        reason=Reason.BUDGET_STORE_UNAVAILABLE,
                        metadata={"key": key},
                    ) from error
            except nats.errors.Error as error:
                # A write that timed out may still have landed: retrying could count it twice, so fail instead.
                raise BudgetStoreUnavailable(
                    f"budget store did not confirm the write of {key}: {error!r}",
                    reason=Reason.BUDGET_STORE_UNAVAILABLE,
                    metadata={"key": key, "write": "unconfirmed"},
                ) from error
            self.conflicts += 1
            pause = self._rng.uniform(0, min(policy.max_backoff_s, policy.base_backoff_s * 2**attempt))
            if time.monotonic() + pause > deadline:
                break
            await asyncio.sleep(pause)
        raise BudgetStoreUnavailable(
            f"budget counter {key} is contended: not settled within {policy.deadline_s:g}s "
            f"and {policy.max_attempts} tries; retry the request",
            reason=Reason.BUDGET_STORE_CONTENDED,
            metadata={"key": key},
        )

    async def _write(self, key: str, payload: bytes, revision: int) -> None:
        if revision == 0:
            await self._kv.create(key, payload)
        else:
            await self._kv.update(key, payload, last=revision)

    async def _get(self, key: str) -> tuple[int, int]:
        try:
            entry = await self._kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return 0, 0
        except nats.errors.Error as error:  # reads change nothing: the caller may retry them freely
            raise BudgetStoreUnavailable(
                f"budget store did not answer for {key}: {error!r}",
                reason=Reason.BUDGET_STORE_UNAVAILABLE,
                metadata={"key": key},
            ) from error
        return int(entry.value or b"0"), int(entry.revision or 0)
