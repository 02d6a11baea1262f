"""Precomputed look-ups that let selection touch only the few models that can win.

Built once per price table (off the request path, when the table is swapped). Sets of models are Python ints
used as bit sets (bit i = row i), so each static constraint of a request is a handful of big-int operations
whatever the manifest's size. For ranking, rows are pre-sorted by a lower bound of their cost per prompt token,
`input + r * output`, for a grid of completion/prompt ratios r; a request walks the order of the grid ratio just
below its own and stops as soon as the bound exceeds the k-th best exact cost found.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from shared.pricing.cost import PriceSchedule
from shared.pricing.manifest import TIER_VALUES, ModelEntry
from shared.pricing.price_age import epoch_day
from shared.pricing.price_table import PriceTable

# Completion/prompt token ratios for which a cost order is kept: 0, then 1e-4 ... 1e3 in steps of 10^(1/6).
RATIO_GRID: tuple[float, ...] = (0.0, *(10 ** (exponent / 6) for exponent in range(-24, 19)))


@dataclass(frozen=True, slots=True)
class Row:
    """A manifest entry with everything selection needs precomputed."""

    index: int
    entry: ModelEntry
    key: str
    provider: str
    model: str
    is_local: bool
    tier: int
    capabilities: frozenset[str]
    residency: frozenset[str]
    regions: tuple[str, ...]
    context_window: int
    max_output_tokens: int
    quality: dict[str, float]
    schedule: PriceSchedule
    retires_day: int | None  # epoch day the provider retires the model (manifest `retires_on`)


def _reuse(row: Row | None, entry: ModelEntry, index: int) -> Row | None:
    """The previous table's row when its entry did not change (most rows on a price update)."""
    return row if row is not None and row.entry is entry and row.index == index else None


def _bit_sets(rows: tuple[Row, ...], names: list[tuple[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, index in names:
        out[name] = out.get(name, 0) | (1 << index)
    return out


class _AtLeast:
    """Rows whose value is at least a threshold, as a bit set, by bisection."""

    __slots__ = ("_masks", "_values")

    def __init__(self, values: list[tuple[float, int]]) -> None:
        ordered = sorted(values)
        self._values = [value for value, _ in ordered]
        # _masks[k] = rows from position k to the end of the ascending order.
        masks = [0] * (len(ordered) + 1)
        for position in range(len(ordered) - 1, -1, -1):
            masks[position] = masks[position + 1] | (1 << ordered[position][1])
        self._masks = masks

    def at_least(self, threshold: float) -> int:
        return self._masks[bisect.bisect_left(self._values, threshold)]


class SelectionIndex:
    __slots__ = (
        "_floors",
        "_orders",
        "_remote",
        "_retired",
        "all_mask",
        "capability_masks",
        "context_at_least",
        "key_masks",
        "local_rows",
        "max_output_at_least",
        "model_masks",
        "provider_masks",
        "quality_at_least",
        "region_masks",
        "remote_mask",
        "residency_masks",
        "rows",
        "table",
        "tier_masks",
    )

    def __init__(self, table: PriceTable, previous: SelectionIndex | None = None) -> None:
        self.table = table
        reusable = {row.key: row for row in previous.rows} if previous is not None else {}
        self.rows: tuple[Row, ...] = tuple(
            _reuse(reusable.get(entry.key), entry, index)
            or Row(
                index=index,
                entry=entry,
                key=entry.key,
                provider=entry.provider,
                model=entry.model,
                is_local=entry.tier == "local",
                tier=entry.tier_value,
                capabilities=frozenset(entry.capabilities),
                residency=frozenset(entry.residency),
                regions=entry.regions,
                context_window=entry.context_window,
                max_output_tokens=entry.max_output_tokens,
                quality={str(task): score for task, score in entry.quality.items()},
                schedule=table.schedules[entry.key],
                retires_day=epoch_day(entry.retires_on),
            )
            for index, entry in enumerate(table.entries)
        )
        rows = self.rows
        self.all_mask = (1 << len(rows)) - 1
        self.local_rows = tuple(row for row in rows if row.is_local)
        self.remote_mask = self.all_mask & ~_bit_sets(rows, [("local", row.index) for row in self.local_rows]).get(
            "local", 0
        )
        self.provider_masks = _bit_sets(rows, [(row.provider, row.index) for row in rows])
        self.key_masks = _bit_sets(rows, [(row.key, row.index) for row in rows])
        self.model_masks = _bit_sets(rows, [(row.model, row.index) for row in rows])
        self.capability_masks = _bit_sets(rows, [(cap, row.index) for row in rows for cap in row.capabilities])
        self.region_masks = _bit_sets(rows, [(region, row.index) for row in rows for region in row.regions])
        self.residency_masks = _bit_sets(rows, [(tag, row.index) for row in rows for tag in row.residency])
        self.tier_masks = [
            sum(1 << row.index for row in rows if row.tier >= minimum)
            for minimum in range(max(TIER_VALUES.values()) + 1)
        ]
        tasks = {task for row in rows for task in row.quality}
        self.quality_at_least = {
            task: _AtLeast([(row.quality.get(task, 0.0), row.index) for row in rows]) for task in tasks
        }
        self.context_at_least = _AtLeast([(row.context_window, row.index) for row in rows])
        self.max_output_at_least = _AtLeast([(row.max_output_tokens, row.index) for row in rows])
        # Models with a retirement date, for retired_mask(day): usually a handful.
        self._retired: tuple[tuple[int, int], ...] = tuple(
            sorted((row.retires_day, 1 << row.index) for row in rows if row.retires_day is not None)
        )
        # Lower bounds of each row's per-token prices over its base and tiered prices.
        floors: list[tuple[int, int]] = []
        for row in rows:
            low_in, low_out = row.schedule.base.input, row.schedule.base.output
            for _, prices in row.schedule.tiers:
                low_in, low_out = min(low_in, prices.input), min(low_out, prices.output)
            floors.append((low_in, low_out))
        self._floors = floors
        self._remote = [row.index for row in rows if not row.is_local]
        # Cost orders are sorted on first use, so swapping in a new table stays cheap.
        self._orders: list[tuple[tuple[int, ...], tuple[float, ...]] | None] = [None] * len(RATIO_GRID)

    def retired_mask(self, day: int) -> int:
        """Rows retired on or before the epoch day `day`."""
        mask = 0
        for retires, bit in self._retired:
            if retires > day:
                break
            mask |= bit
        return mask

    def order_for(self, completion_floor: int, prompt_tokens: int) -> tuple[tuple[int, ...], tuple[float, ...], float]:
        """The row order for a request, its per-prompt-token bounds, and the grid ratio used (<= the real one)."""
        ratio = completion_floor / max(prompt_tokens, 1)
        position = bisect.bisect_right(RATIO_GRID, ratio) - 1
        cached = self._orders[position]
        if cached is None:
            grid_ratio, floors = RATIO_GRID[position], self._floors
            keyed = sorted((floors[i][0] + grid_ratio * floors[i][1], i) for i in self._remote)
            cached = self._orders[position] = (tuple(i for _, i in keyed), tuple(bound for bound, _ in keyed))
        return cached[0], cached[1], RATIO_GRID[position]
