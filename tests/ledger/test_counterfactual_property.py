"""The ledger's counterfactual for a request's own model equals what the router charged for it.

The router's charge goes the real way: `usage_cost` on a PriceBook snapshot, the outcome turned into the
telemetry event the router publishes, the event stored by the ledger, then repriced on the model's manifest
prices. Usages include cached, cache-write (5-minute and 1-hour) and reasoning tokens; prices include tiers
by prompt size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bourse.common.v1 import chat_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ledger.core import reports
from services.ledger.core.store import LedgerStore
from services.router.core.execution.route_types import RouteOutcome
from services.router.core.execution.tiers import usage_cost
from services.router.core.selection.selection import Candidate
from services.router.events import telemetry_event
from shared.pricing.manifest import Manifest, ModelEntry
from shared.pricing.model_prices import ModelPrice
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import entry

# Prices with up to 4 decimals, as providers publish them (USD per million tokens).
price = st.integers(min_value=0, max_value=200_000).map(lambda n: n / 10_000)
maybe_price = st.none() | price


@st.composite
def priced_entry(draw: st.DrawFn) -> ModelEntry:
    thresholds = sorted(draw(st.sets(st.integers(min_value=1_000, max_value=400_000), max_size=2)))
    tiers = [
        {
            "above_prompt_tokens": threshold,
            "input_per_mtok": draw(price),
            "output_per_mtok": draw(price),
            "cached_input_per_mtok": draw(maybe_price),
            "cache_write_per_mtok": draw(maybe_price),
            "reasoning_per_mtok": draw(maybe_price),
            "cache_write_long_per_mtok": draw(maybe_price),
        }
        for threshold in thresholds
    ]
    prices: dict[str, Any] = {
        "input_per_mtok": draw(price),
        "output_per_mtok": draw(price),
        "cached_input_per_mtok": draw(maybe_price),
        "cache_write_per_mtok": draw(maybe_price),
        "reasoning_per_mtok": draw(maybe_price),
        "cache_write_long_per_mtok": draw(maybe_price),
        "tiers": tiers,
    }
    return entry("openai", "m", prices=prices, context_window=1_000_000)


@st.composite
def usage(draw: st.DrawFn) -> chat_pb2.Usage:
    prompt = draw(st.integers(min_value=0, max_value=600_000))
    cached = draw(st.integers(min_value=0, max_value=prompt))
    written = draw(st.integers(min_value=0, max_value=prompt - cached))
    written_long = draw(st.integers(min_value=0, max_value=written))  # Anthropic's 1-hour cache writes
    completion = draw(st.integers(min_value=0, max_value=100_000))
    reasoning = draw(st.integers(min_value=0, max_value=completion))
    return chat_pb2.Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_prompt_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=reasoning,
        cache_write_long_tokens=written_long,
    )


def _charged(book: PriceBook, model: ModelEntry, used: chat_pb2.Usage, tenant: str) -> RouteOutcome:
    candidate = Candidate(
        entry=model, region="us-east", estimated_cost_micro_usd=0, expected_completion_tokens=0, p50_ms=1, p95_ms=1
    )
    outcome = RouteOutcome(request_id=tenant, tenant=tenant, key_id="", task_kind="chat", stream=False, metadata={})
    outcome.answered(
        chat_pb2.ChatCompletion(usage=used),
        provider=model.provider,
        model=model.model,
        region="us-east",
        served_from="remote",
        upstream_s=0.1,
    )
    outcome.cost_micro_usd = usage_cost(book, candidate, used)
    return outcome


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=priced_entry(), usages=st.lists(usage(), min_size=1, max_size=6))
def test_counterfactual_on_the_own_model_is_what_the_router_charged(
    model: ModelEntry, usages: list[chat_pb2.Usage]
) -> None:
    book = PriceBook.from_manifest(Manifest(prices_as_of="2026-12-01", models=(model,)))
    outcomes = [_charged(book, model, used, f"t{index}") for index, used in enumerate(usages)]
    store = LedgerStore(":memory:")
    try:
        store.insert_requests([telemetry_event(outcome) for outcome in outcomes])
        target = ModelPrice.of(model.provider, model.model, model.prices)
        result = reports.counterfactual(store, reports.Filter(), target, group_by="tenant")
    finally:
        store.close()
    # One tenant per request: every row is one request, repriced exactly as the router charged it.
    assert {row.key: row.counterfactual_micro_usd for row in result.rows} == {
        outcome.tenant: outcome.cost_micro_usd for outcome in outcomes
    }
    assert result.total.savings_micro_usd == 0
    assert result.total.requests == len(usages)


def test_counterfactual_prices_cache_writes_reasoning_and_tiers() -> None:
    """A hand-checked case: the ledger no longer drops cache-write, reasoning or tier prices."""
    model = entry(
        "anthropic",
        "m",
        context_window=1_000_000,
        prices={
            "input_per_mtok": 3.0,
            "output_per_mtok": 15.0,
            "cached_input_per_mtok": 0.3,
            "cache_write_per_mtok": 3.75,
            "reasoning_per_mtok": 20.0,
            "tiers": [{"above_prompt_tokens": 200_000, "input_per_mtok": 6.0, "output_per_mtok": 22.5}],
        },
    )
    book = PriceBook.from_manifest(Manifest(prices_as_of="2026-12-01", models=(model,)))
    small = chat_pb2.Usage(
        prompt_tokens=1000, cached_prompt_tokens=600, cache_write_tokens=300, completion_tokens=100, reasoning_tokens=40
    )
    large = chat_pb2.Usage(prompt_tokens=300_000, completion_tokens=1000)
    outcomes = [_charged(book, model, small, "small"), _charged(book, model, large, "large")]
    store = LedgerStore(":memory:")
    try:
        store.insert_requests([telemetry_event(outcome) for outcome in outcomes])
        result = reports.counterfactual(
            store, reports.Filter(), ModelPrice.of("anthropic", "m", model.prices), group_by="tenant"
        )
    finally:
        store.close()
    # small: 100*3 + 600*0.3 + 300*3.75 + 60*15 + 40*20 = 300 + 180 + 1125 + 900 + 800 = 3305
    # large (tier above 200k, whole request): 300000*6 + 1000*22.5 = 1_822_500
    assert {row.key: row.counterfactual_micro_usd for row in result.rows} == {"small": 3305, "large": 1_822_500}
    assert [outcome.cost_micro_usd for outcome in outcomes] == [3305, 1_822_500]


def test_a_ledger_file_without_the_cache_write_column_still_reprices(tmp_path: Path) -> None:
    """Files written before cache writes were recorded: opened read-only, their rows count no cache writes."""
    path = tmp_path / "old.duckdb"
    store = LedgerStore(path)
    store.insert_requests(
        [telemetry_event(_charged(PriceBook.from_manifest(_one()), _one().models[0], _usage(), "old"))]
    )
    store.query("ALTER TABLE requests DROP COLUMN cache_write_tokens")
    store.close()
    old = LedgerStore(path, read_only=True)
    try:
        assert not old.has_cache_write_tokens
        target = ModelPrice.of("openai", "m", _one().models[0].prices)
        assert reports.counterfactual(old, reports.Filter(), target).total.counterfactual_micro_usd == 250
    finally:
        old.close()


def _one() -> Manifest:
    return Manifest(prices_as_of="2026-12-01", models=(entry("openai", "m"),))


def _usage() -> chat_pb2.Usage:
    return chat_pb2.Usage(prompt_tokens=100, completion_tokens=75)


def test_model_price_round_trips_the_manifest_prices() -> None:
    model = entry(
        "gemini",
        "m",
        prices={
            "input_per_mtok": 1.25,
            "output_per_mtok": 10.0,
            "tiers": [{"above_prompt_tokens": 200_000, "input_per_mtok": 2.5, "output_per_mtok": 15.0}],
        },
    )
    assert ModelPrice.of("gemini", "m", model.prices).prices() == model.prices
