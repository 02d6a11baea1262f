"""Costs are exact integer micro-dollars from per-million-token prices, rounded half up once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.pricing.cost import PriceSchedule, cost_micro_usd, estimate_cost_micro_usd
from shared.pricing.manifest import Prices, PriceTier
from tests.router.model_entries import entry


def test_plain_input_and_output() -> None:
    # gpt-4o-mini: $0.15 in, $0.60 out per million -> 1000 in + 500 out = 150 + 300 micro-dollars.
    prices = Prices(input_per_mtok=0.15, output_per_mtok=0.60)
    assert cost_micro_usd(prices, 1000, 500) == 450


def test_rounds_half_up_once_per_request() -> None:
    prices = Prices(input_per_mtok=0.5, output_per_mtok=0.0)
    assert cost_micro_usd(prices, 1, 0) == 1  # 0.5 -> 1
    assert cost_micro_usd(prices, 3, 0) == 2  # 1.5 -> 2
    prices = Prices(input_per_mtok=0.4, output_per_mtok=0.4)
    # Rounding once: 0.4 + 0.4 = 0.8 -> 1 (rounding each part would give 0).
    assert cost_micro_usd(prices, 1, 1) == 1


def test_cached_cache_write_and_reasoning_prices() -> None:
    prices = Prices(
        input_per_mtok=3.0,
        output_per_mtok=15.0,
        cached_input_per_mtok=0.30,
        cache_write_per_mtok=3.75,
        reasoning_per_mtok=20.0,
    )
    # 10000 prompt of which 6000 cached and 2000 written; 1000 completion of which 400 reasoning.
    expected = 2000 * 3.0 + 6000 * 0.30 + 2000 * 3.75 + 600 * 15.0 + 400 * 20.0
    assert cost_micro_usd(prices, 10_000, 1000, cached_tokens=6000, cache_write_tokens=2000, reasoning_tokens=400) == (
        round(expected)
    )


def test_unset_cached_price_falls_back_to_input() -> None:
    prices = Prices(input_per_mtok=2.0, output_per_mtok=8.0)
    assert cost_micro_usd(prices, 1000, 0, cached_tokens=1000) == 2000


def test_counts_are_clamped_to_their_totals() -> None:
    prices = Prices(input_per_mtok=1.0, output_per_mtok=1.0, cached_input_per_mtok=0.0)
    assert cost_micro_usd(prices, 100, 10, cached_tokens=500, reasoning_tokens=50) == 10


def test_tier_above_prompt_threshold_applies_to_whole_request() -> None:
    prices = Prices(
        input_per_mtok=1.25,
        output_per_mtok=10.0,
        tiers=(PriceTier(above_prompt_tokens=200_000, input_per_mtok=2.5, output_per_mtok=15.0),),
    )
    assert cost_micro_usd(prices, 200_000, 1000) == 250_000 + 10_000
    assert cost_micro_usd(prices, 200_001, 1000) == 515_003  # 515_002.5 rounds half up


def test_estimate_uses_entry_prices() -> None:
    model = entry(prices={"input_per_mtok": 0.27, "output_per_mtok": 1.10})
    assert estimate_cost_micro_usd(model, 1000, 100) == 270 + 110
    assert estimate_cost_micro_usd(PriceSchedule.of(model.prices), 1000, 100) == 380


@given(
    st.decimals(min_value=0, max_value=100, places=3),
    st.decimals(min_value=0, max_value=100, places=3),
    st.integers(0, 2_000_000),
    st.integers(0, 200_000),
)
def test_matches_exact_decimal_arithmetic(input_price, output_price, prompt, completion) -> None:  # type: ignore[no-untyped-def]
    prices = Prices(input_per_mtok=float(input_price), output_per_mtok=float(output_price))
    exact = input_price * prompt + output_price * completion
    half_up = int(exact + exact.__class__("0.5"))
    assert cost_micro_usd(prices, prompt, completion) == half_up
