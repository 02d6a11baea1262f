"""Cost in integer micro-dollars from manifest prices (USD per million tokens) and token counts.

A price of P USD per million tokens is P micro-dollars per token. Prices are held as integers in units of
1e-6 micro-dollars per token, so a request's cost is an exact integer sum that is rounded half up once.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.pricing.manifest import ModelEntry, Prices, PriceTier

UNITS_PER_MICRO_USD = 1_000_000


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """Per-token prices in 1e-6 micro-dollar units (exact integers)."""

    input: int
    output: int
    cached_input: int
    cache_write: int
    reasoning: int
    cache_write_long: int


def to_units(price_per_mtok: float) -> int:
    return round(price_per_mtok * UNITS_PER_MICRO_USD)


def unit_prices(prices: Prices | PriceTier) -> UnitPrices:
    base_in = to_units(prices.input_per_mtok)
    out = to_units(prices.output_per_mtok)
    write = base_in if prices.cache_write_per_mtok is None else to_units(prices.cache_write_per_mtok)
    return UnitPrices(
        input=base_in,
        output=out,
        cached_input=base_in if prices.cached_input_per_mtok is None else to_units(prices.cached_input_per_mtok),
        cache_write=write,
        reasoning=out if prices.reasoning_per_mtok is None else to_units(prices.reasoning_per_mtok),
        cache_write_long=write
        if prices.cache_write_long_per_mtok is None
        else to_units(prices.cache_write_long_per_mtok),
    )


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """Base prices plus the tiers that replace them above a prompt-size threshold (ascending)."""

    base: UnitPrices
    tiers: tuple[tuple[int, UnitPrices], ...] = ()

    @classmethod
    def of(cls, prices: Prices) -> PriceSchedule:
        return cls(
            base=unit_prices(prices),
            tiers=tuple((tier.above_prompt_tokens, unit_prices(tier)) for tier in prices.tiers),
        )

    def for_prompt(self, prompt_tokens: int) -> UnitPrices:
        chosen = self.base
        for threshold, prices in self.tiers:
            if prompt_tokens > threshold:
                chosen = prices
            else:
                break
        return chosen


def round_units(units: int) -> int:
    """Units (1e-6 micro-dollars) to micro-dollars, rounding half up."""
    return (units + UNITS_PER_MICRO_USD // 2) // UNITS_PER_MICRO_USD


def cost_units(  # noqa: PLR0917 -- positional token counts mirror bourse.common.v1.Usage
    schedule: PriceSchedule,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    cache_write_long_tokens: int = 0,
) -> int:
    """Exact cost in 1e-6 micro-dollar units.

    `prompt_tokens` includes cached and cache-write tokens; `completion_tokens` includes reasoning tokens;
    `cache_write_long_tokens` are the part of the cache writes with a long lifetime (the conventions of
    bourse.common.v1.Usage). Counts outside those bounds are clamped.
    """
    prices = schedule.for_prompt(prompt_tokens)
    cached = min(max(cached_tokens, 0), max(prompt_tokens, 0))
    written = min(max(cache_write_tokens, 0), max(prompt_tokens, 0) - cached)
    written_long = min(max(cache_write_long_tokens, 0), written)
    fresh = max(prompt_tokens, 0) - cached - written
    reasoning = min(max(reasoning_tokens, 0), max(completion_tokens, 0))
    visible = max(completion_tokens, 0) - reasoning
    return (
        fresh * prices.input
        + cached * prices.cached_input
        + (written - written_long) * prices.cache_write
        + written_long * prices.cache_write_long
        + visible * prices.output
        + reasoning * prices.reasoning
    )


def estimate_units(schedule: PriceSchedule, prompt_tokens: int, completion_tokens: int) -> int:
    """Expected cost in units: every prompt token at the input price, completion at the output price."""
    prices = schedule.base
    if schedule.tiers:
        prices = schedule.for_prompt(prompt_tokens)
    return prompt_tokens * prices.input + completion_tokens * prices.output


def _schedule(entry_or_prices: ModelEntry | Prices | PriceSchedule) -> PriceSchedule:
    if isinstance(entry_or_prices, PriceSchedule):
        return entry_or_prices
    if isinstance(entry_or_prices, ModelEntry):
        return PriceSchedule.of(entry_or_prices.prices)
    return PriceSchedule.of(entry_or_prices)


def cost_micro_usd(  # noqa: PLR0917 -- positional token counts mirror bourse.common.v1.Usage
    entry_or_prices: ModelEntry | Prices | PriceSchedule,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    cache_write_long_tokens: int = 0,
) -> int:
    """The cost of one request from its usage, in micro-dollars (rounded half up once)."""
    units = cost_units(
        _schedule(entry_or_prices),
        prompt_tokens,
        completion_tokens,
        cached_tokens,
        cache_write_tokens,
        reasoning_tokens,
        cache_write_long_tokens,
    )
    return round_units(units)


def estimate_cost_micro_usd(
    entry: ModelEntry | Prices | PriceSchedule, prompt_tokens: int, completion_tokens: int
) -> int:
    """Expected cost before the call: every prompt token at the input price, completion at the output price."""
    return round_units(estimate_units(_schedule(entry), max(prompt_tokens, 0), max(completion_tokens, 0)))


def cost_sql(  # noqa: PLR0917 -- the column names in the order of cost_units' token counts
    schedule: PriceSchedule,
    prompt_tokens: str,
    completion_tokens: str,
    cached_tokens: str,
    cache_write_tokens: str,
    reasoning_tokens: str,
    cache_write_long_tokens: str = "0",
) -> str:
    """A SQL expression (DuckDB) equal to `cost_micro_usd(schedule, ...)` over the named integer columns.

    The same computation as `cost_units` then `round_units`, in exact HUGEINT arithmetic, so a report can price
    millions of rows in the database; tests/ledger/test_counterfactual_property.py holds the two equal. The
    column names come from the caller's code, never from user input; the prices are integers of the schedule.
    """
    p = f"greatest(CAST({prompt_tokens} AS HUGEINT), 0)"
    c = f"greatest(CAST({completion_tokens} AS HUGEINT), 0)"
    cached = f"least(greatest(CAST({cached_tokens} AS HUGEINT), 0), {p})"
    written = f"least(greatest(CAST({cache_write_tokens} AS HUGEINT), 0), {p} - {cached})"
    written_long = f"least(greatest(CAST({cache_write_long_tokens} AS HUGEINT), 0), {written})"
    fresh = f"({p} - {cached} - {written})"
    reasoning = f"least(greatest(CAST({reasoning_tokens} AS HUGEINT), 0), {c})"
    visible = f"({c} - {reasoning})"

    def price(name: str) -> str:
        # The tier of the prompt size, as PriceSchedule.for_prompt picks it (the highest threshold passed).
        base = int(getattr(schedule.base, name))
        if not schedule.tiers:
            return str(base)
        cases = " ".join(
            f"WHEN {prompt_tokens} > {int(threshold)} THEN {int(getattr(prices, name))}"
            for threshold, prices in reversed(schedule.tiers)
        )
        return f"(CASE {cases} ELSE {base} END)"

    units = (
        f"({fresh} * {price('input')} + {cached} * {price('cached_input')}"
        f" + ({written} - {written_long}) * {price('cache_write')} + {written_long} * {price('cache_write_long')}"
        f" + {visible} * {price('output')} + {reasoning} * {price('reasoning')})"
    )
    return f"(({units} + {UNITS_PER_MICRO_USD // 2}) // {UNITS_PER_MICRO_USD})"
