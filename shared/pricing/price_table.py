"""The live price table: an immutable snapshot swapped as a whole when a price update is applied.

A request reads `PriceBook.current` once and uses that snapshot throughout, so it sees the old table or the
new one, never a mix. Updates are validated before they are applied; an implausible one raises InvalidRequest
and leaves the table untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from shared.errors import FieldViolation, InvalidRequest, Reason
from shared.events.schemas import PriceUpdate
from shared.pricing.cost import PriceSchedule
from shared.pricing.manifest import Manifest, ModelEntry, Prices
from shared.pricing.price_age import epoch_day

PRICE_FIELDS: tuple[str, ...] = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
)
MAX_PRICE_PER_MTOK = 100_000.0
# A change by more than this factor (up or down) needs allow_large_change.
LARGE_CHANGE_FACTOR = 100.0


class PriceTable:
    """An immutable snapshot of the manifest with its current prices."""

    __slots__ = ("_by_key", "_by_model", "as_of", "base_as_of", "entries", "price_days", "schedules", "version")

    def __init__(
        self,
        entries: Iterable[ModelEntry],
        as_of: str,
        version: int = 0,
        previous: PriceTable | None = None,
        base_as_of: str | None = None,
    ) -> None:
        self.entries: tuple[ModelEntry, ...] = tuple(entries)
        self.as_of = as_of  # the newest price of the table
        # The manifest's date: the prices of every model no update has touched.
        self.base_as_of: str = (
            base_as_of if base_as_of is not None else previous.base_as_of if previous is not None else as_of
        )
        self.version = version
        self._by_key: dict[str, ModelEntry] = {entry.key: entry for entry in self.entries}
        self._by_model: dict[str, list[ModelEntry]] = {}
        for entry in self.entries:
            self._by_model.setdefault(entry.model, []).append(entry)
        # Integer price schedules, computed once per snapshot, used for every cost estimate.
        # Unchanged entries (the same object as in `previous`) keep their schedule.
        reusable = previous.schedules if previous is not None else {}
        old = previous._by_key if previous is not None else {}
        self.schedules: dict[str, PriceSchedule] = {
            entry.key: reusable[entry.key] if old.get(entry.key) is entry else PriceSchedule.of(entry.prices)
            for entry in self.entries
        }

        # Epoch day of each model's newest price (its own date, else the manifest's), for price-age checks.
        self.price_days: dict[str, int | None] = {
            entry.key: epoch_day(entry.prices_as_of or self.base_as_of) for entry in self.entries
        }

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> PriceTable:
        return cls(manifest.models, manifest.prices_as_of)

    def oldest_as_of(self) -> str:
        """The date of the oldest newest-price among the models (what "the prices are N days old" means)."""
        dates = [entry.prices_as_of or self.base_as_of for entry in self.entries if entry.provider != "local"]
        return min(dates, default=self.base_as_of)

    def get(self, provider: str, model: str) -> ModelEntry | None:
        return self._by_key.get(f"{provider}/{model}")

    def get_key(self, key: str) -> ModelEntry | None:
        return self._by_key.get(key)

    def knows(self, name: str) -> bool:
        """Whether `name` ("provider/model" or a bare model id) names a model of this table."""
        return name in self._by_key or name in self._by_model

    def matching(self, name: str) -> list[ModelEntry]:
        """Every entry `name` refers to: the exact "provider/model", or all providers serving a bare model id."""
        exact = self._by_key.get(name)
        if exact is not None:
            return [exact]
        return list(self._by_model.get(name, ()))

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class PriceBook:
    """Holds the current PriceTable. Reading `current` is one attribute read; `apply` swaps a new snapshot."""

    _current: PriceTable
    _listeners: list[Callable[[PriceTable], None]] = field(default_factory=list)

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> PriceBook:
        return cls(PriceTable.from_manifest(manifest))

    @property
    def current(self) -> PriceTable:
        return self._current

    def on_swap(self, listener: Callable[[PriceTable], None]) -> None:
        """Call `listener(new_table)` after every swap (to rebuild derived indexes off the request path)."""
        self._listeners.append(listener)

    def apply(self, update: PriceUpdate) -> None:
        """Validate one update against the current table and swap in the new table; raises InvalidRequest."""
        self._swap(self._current, [update])

    def apply_many(self, updates: Iterable[PriceUpdate]) -> list[InvalidRequest]:
        """Apply every valid update in one swap; returns the rejections of the invalid ones."""
        table = self._current
        entries = {entry.key: entry for entry in table.entries}
        as_of = table.as_of
        errors: list[InvalidRequest] = []
        changed = False
        for update in updates:
            try:
                entry = _updated_entry(entries.get(f"{update.provider}/{update.model}"), update, table.base_as_of)
            except InvalidRequest as error:
                errors.append(error)
                continue
            entries[entry.key] = entry
            as_of = max(as_of, update.as_of)
            changed = True
        if changed:
            self._install(PriceTable(entries.values(), as_of, table.version + 1, table))
        return errors

    def _swap(self, table: PriceTable, updates: list[PriceUpdate]) -> None:
        entries = {entry.key: entry for entry in table.entries}
        as_of = table.as_of
        for update in updates:
            entry = _updated_entry(entries.get(f"{update.provider}/{update.model}"), update, table.base_as_of)
            entries[entry.key] = entry
            as_of = max(as_of, update.as_of)
        self._install(PriceTable(entries.values(), as_of, table.version + 1, table))

    def _install(self, table: PriceTable) -> None:
        self._current = table
        for listener in self._listeners:
            listener(table)


def _reject(update: PriceUpdate, field_name: str, detail: str, reason: Reason) -> InvalidRequest:
    return InvalidRequest(
        f"price update for {update.provider}/{update.model} rejected: {detail}",
        reason=reason,
        violations=[FieldViolation(field=field_name, description=detail)],
        metadata={"provider": update.provider, "model": update.model},
    )


def _updated_entry(entry: ModelEntry | None, update: PriceUpdate, base_as_of: str) -> ModelEntry:
    if update.v != 1:
        raise _reject(update, "v", f"unsupported schema version {update.v}", Reason.PRICE_UPDATE_MALFORMED)
    if entry is None:
        raise _reject(
            update, "model", "unknown model (add it to the manifest first)", Reason.PRICE_UPDATE_UNKNOWN_MODEL
        )
    current_as_of = entry.prices_as_of or base_as_of  # an entry no update has touched is as old as the manifest
    if update.as_of and current_as_of and _older(update.as_of, current_as_of):
        raise _reject(update, "as_of", f"older than the applied prices ({current_as_of})", Reason.PRICE_UPDATE_STALE)
    old = entry.prices
    changes: dict[str, float] = {}
    for name in PRICE_FIELDS:
        value = getattr(update, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _reject(update, name, "not a finite number", Reason.PRICE_UPDATE_MALFORMED)
        if value < 0 or value > MAX_PRICE_PER_MTOK:
            raise _reject(
                update, name, f"{value} is outside 0..{MAX_PRICE_PER_MTOK:g}", Reason.PRICE_UPDATE_IMPLAUSIBLE
            )
        previous = _effective(old, name)
        if not update.allow_large_change and _is_large_change(previous, float(value)):
            raise _reject(
                update,
                name,
                f"{previous:g} -> {value:g} changes by more than {LARGE_CHANGE_FACTOR:g}x (set allow_large_change)",
                Reason.PRICE_UPDATE_IMPLAUSIBLE,
            )
        changes[name] = float(value)
    if not changes:
        raise _reject(update, "input_per_mtok", "the update carries no price", Reason.PRICE_UPDATE_MALFORMED)
    prices: Prices = msgspec.structs.replace(old, **changes)
    return msgspec.structs.replace(entry, prices=prices, prices_as_of=update.as_of or current_as_of)


def _older(candidate: str, current: str) -> bool:
    """Whether `candidate` predates `current`. A bare date is the whole day: "2026-12-03" is not older than
    "2026-12-03T10:00:00+00:00" (a dated price list and a live feed's update of the same day)."""
    if "T" in candidate and "T" in current:
        try:
            return datetime.fromisoformat(candidate) < datetime.fromisoformat(current)
        except (ValueError, TypeError):
            return candidate < current
    return candidate[:10] < current[:10]


def _effective(prices: Prices, name: str) -> float:
    value: float | None = getattr(prices, name)
    if value is not None:
        return value
    if name in ("cached_input_per_mtok", "cache_write_per_mtok"):
        return prices.input_per_mtok
    return prices.output_per_mtok


def _is_large_change(previous: float, new: float) -> bool:
    if previous == new:
        return False
    if previous == 0.0 or new == 0.0:
        return True  # free <-> paid is never a routine move
    ratio = new / previous
    return ratio > LARGE_CHANGE_FACTOR or ratio < 1.0 / LARGE_CHANGE_FACTOR
