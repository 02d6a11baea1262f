"""Spend limits per tenant (or API key) per day and month, and request-rate limits.

Checked before the call with the estimated cost (a reservation) and settled with the actual cost. The counters
live in a shared store (a NATS KV bucket, see services/router/budget_store.py) updated with compare-and-set,
so every router replica sees the same spend.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from structlog.typing import FilteringBoundLogger

from shared.errors import BourseError, BudgetExceeded, Reason
from shared.events.schemas import BudgetAlert
from shared.instrumentation import Counter, Instruments, NoInstruments

_PERIOD = {"daily": "day", "monthly": "month"}


class BudgetStoreUnavailable(BourseError):
    """The shared counters could not be read or written in time (contention or an unreachable store); the
    request did not run and may be retried. reason BUDGET_STORE_CONTENDED or BUDGET_STORE_UNAVAILABLE."""

    default_reason = Reason.BUDGET_STORE_UNAVAILABLE


@dataclass(frozen=True, slots=True)
class BudgetMetrics:
    settle_failures: Counter  # settlements given up after every retry: the counter keeps the estimate

    @classmethod
    def create(cls, instruments: Instruments) -> BudgetMetrics:
        return cls(
            settle_failures=instruments.counter(
                "budget_settle_failures", "Budget settlements that failed after retries, by limit", ["limit"]
            )
        )


class CounterStore(Protocol):
    """Shared integer counters. `add` is atomic (compare-and-set); with `ceiling`, it refuses (returns None and
    changes nothing) when the new value would exceed the ceiling or the current value is already at it."""

    async def add(self, key: str, delta: int, *, ceiling: int | None = None) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    daily_micro_usd: int = 0
    monthly_micro_usd: int = 0
    requests_per_minute: int = 0


@dataclass(frozen=True, slots=True)
class _Scope:
    name: str  # "tenant" or "key"
    key: str  # KV-safe scope id
    limits: Limits


@dataclass(slots=True)
class Reservation:
    """What admission took: counters to settle later. Empty when no limit applies."""

    tenant: str
    estimate_micro_usd: int
    spend_keys: list[tuple[str, str, int, str]] = field(default_factory=list)  # (kv key, limit name, limit, period)

    @property
    def empty(self) -> bool:
        return not self.spend_keys


def kv_safe(name: str) -> str:
    """A KV key token for any name: [A-Za-z0-9_-] kept, every other byte as =XX."""
    out = []
    for byte in name.encode():
        ch = chr(byte)
        out.append(ch if ch.isascii() and (ch.isalnum() or ch in "_-") else f"={byte:02X}")
    return "".join(out) or "_"


class Budgets:
    """Admission and settlement against the configured limits. Tenants without limits cost nothing here."""

    def __init__(
        self,
        limits: Iterable[tuple[str, str, Limits]],
        store: CounterStore | None,
        *,
        on_alert: Callable[[BudgetAlert], None],
        thresholds_pct: Sequence[int] = (50, 80, 100),
        clock: Callable[[], float],
        logger: FilteringBoundLogger | None = None,
        metrics: BudgetMetrics | None = None,
        settle_attempts: int = 4,
        settle_backoff_s: float = 0.05,
    ) -> None:
        self._limits: dict[tuple[str, str], Limits] = {(tenant, key_id): lim for tenant, key_id, lim in limits}
        self._tenants = frozenset(tenant for tenant, _ in self._limits)
        self._store = store
        self._on_alert = on_alert
        self._thresholds = tuple(sorted(thresholds_pct))
        self._clock = clock
        self._logger = logger
        self.metrics = metrics or BudgetMetrics.create(NoInstruments())
        self._settle_attempts = max(1, settle_attempts)
        self._settle_backoff_s = settle_backoff_s

    def applies_to(self, tenant: str) -> bool:
        return tenant in self._tenants and self._store is not None

    def _scopes(self, tenant: str, key_id: str) -> list[_Scope]:
        scopes = []
        whole = self._limits.get((tenant, ""))
        if whole is not None:
            scopes.append(_Scope("tenant", f"{kv_safe(tenant)}._", whole))
        if key_id:
            keyed = self._limits.get((tenant, key_id))
            if keyed is not None:
                scopes.append(_Scope("key", f"{kv_safe(tenant)}.{kv_safe(key_id)}", keyed))
        return scopes

    async def admit(self, tenant: str, key_id: str, estimate_micro_usd: int) -> Reservation:
        """Count the request and reserve its estimated cost, or raise BudgetExceeded naming the limit
        (BudgetStoreUnavailable, retryable, when the shared counters cannot be updated in time)."""
        reservation = Reservation(tenant=tenant, estimate_micro_usd=estimate_micro_usd)
        if not self.applies_to(tenant):
            return reservation
        try:
            await self._reserve(reservation, key_id)
        except BaseException:
            await self._release(reservation)  # over a limit, or the store failed part-way: give back what was taken
            raise
        return reservation

    async def _reserve(self, reservation: Reservation, key_id: str) -> None:
        assert self._store is not None
        now = dt.datetime.fromtimestamp(self._clock(), tz=dt.UTC)
        day, month, minute = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m"), now.strftime("%Y%m%d%H%M")
        for scope in self._scopes(reservation.tenant, key_id):
            rpm = scope.limits.requests_per_minute
            if rpm and await self._store.add(f"rate.{scope.key}.{minute}", 1, ceiling=rpm) is None:
                raise _exceeded(
                    reservation.tenant, scope, "requests_per_minute", rpm, f"{rpm} requests per minute", now=now
                )
            for limit_name, limit, period in (
                ("daily", scope.limits.daily_micro_usd, day),
                ("monthly", scope.limits.monthly_micro_usd, month),
            ):
                if not limit:
                    continue
                key = f"spend.{scope.key}.{period}"
                if await self._store.add(key, reservation.estimate_micro_usd, ceiling=limit) is None:
                    raise _exceeded(
                        reservation.tenant,
                        scope,
                        limit_name,
                        limit,
                        f"{limit} micro-USD per {_PERIOD[limit_name]}",
                        now=now,
                    )
                reservation.spend_keys.append((key, limit_name, limit, period))

    async def settle(self, reservation: Reservation, actual_micro_usd: int) -> None:
        """Replace the reservation by the actual cost; publish an alert for each threshold crossed.

        Runs after the answer is sent, so it never raises: a counter that cannot be settled after retries is
        logged and counted, and keeps the estimate (which admission already bounded by the limit)."""
        if reservation.empty or self._store is None:
            return
        delta = actual_micro_usd - reservation.estimate_micro_usd
        for key, limit_name, limit, period in reservation.spend_keys:
            after = await self._settle_one(key, delta, limit_name)
            if after is None:
                continue
            before = after - actual_micro_usd
            for pct in self._thresholds:
                line = limit * pct // 100
                if before < line <= after:
                    self._on_alert(
                        BudgetAlert(
                            ts_ms=int(self._clock() * 1000),
                            tenant=reservation.tenant,
                            limit=limit_name,
                            threshold_pct=pct,
                            spent_micro_usd=after,
                            limit_micro_usd=limit,
                            period=period,
                        )
                    )

    async def _settle_one(self, key: str, delta: int, limit_name: str) -> int | None:
        assert self._store is not None
        for attempt in range(self._settle_attempts):
            try:
                return await self._store.add(key, delta)
            except BudgetStoreUnavailable as error:
                failure: Exception = error
                if error.metadata.get("write") == "unconfirmed":
                    break  # the write may have landed: retrying could count it twice
            except Exception as error:  # noqa: BLE001 - settlement runs unattended: any failure is logged and counted
                failure = error
                break
            if attempt + 1 < self._settle_attempts:
                await asyncio.sleep(self._settle_backoff_s * 2**attempt)
        self.metrics.settle_failures.labels(limit_name).inc()
        if self._logger is not None:
            self._logger.error("budget settle failed", key=key, delta_micro_usd=delta, error=repr(failure))
        return None

    async def _release(self, reservation: Reservation) -> None:
        for key, limit_name, _, _ in reservation.spend_keys:
            await self._settle_one(key, -reservation.estimate_micro_usd, limit_name)
        reservation.spend_keys.clear()


def _exceeded(
    tenant: str, scope: _Scope, limit_name: str, limit: int, what: str, *, now: dt.datetime
) -> BudgetExceeded:
    return BudgetExceeded(
        f"{scope.name} budget exceeded for tenant {tenant!r}: {limit_name} limit of {what}",
        retry_after_s=window_left_s(limit_name, now),
        metadata={"limit": limit_name, "scope": scope.name, "limit_value": str(limit)},
    )


def window_left_s(limit_name: str, now: dt.datetime) -> float:
    """Seconds from `now` (UTC) until the window of a limit rolls over: the next minute, day or month."""
    if limit_name == "requests_per_minute":
        end = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    elif limit_name == "daily":
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    else:
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (first + dt.timedelta(days=32)).replace(day=1)
    return (end - now).total_seconds()
