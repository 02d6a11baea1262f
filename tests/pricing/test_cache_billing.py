"""Cached and cache-write tokens priced as each provider bills them, on the refreshed manifest.

Each test parses a provider's own usage shape with the adapter's parser and charges it the way the router does
(`usage_cost` on a PriceBook snapshot); the expected figure is the provider's billing rule written out by hand
with the manifest's prices. A gateway that bills cached prompts at the full input price overstates the cost
several times over (see the Anthropic case: the factor is printed in the assertion).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.anthropic import messages as anthropic_messages
from services.provider_adapter.core.dialects.gemini import generate as gemini_generate
from services.provider_adapter.core.dialects.openai import chat as openai_chat
from services.router.core.execution.tiers import usage_cost
from services.router.core.selection.selection import Candidate
from shared.pricing.manifest import ModelEntry, Prices, default_manifest_path, load_manifest
from shared.pricing.price_table import PriceBook
from shared.pricing.refresh import refresh_manifest
from tests.router.model_entries import entry, manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"


def _charge(key: str, usage: chat_pb2.Usage) -> tuple[int, Prices]:
    shipped = load_manifest(default_manifest_path())
    model = next(e for e in shipped.models if e.key == key)
    book = PriceBook.from_manifest(shipped)
    candidate = Candidate(model, model.regions[0], 0, 0, 1.0, 1.0)
    return usage_cost(book, candidate, usage), model.prices


def _micro(total: Decimal) -> int:
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _d(value: float | None) -> Decimal:
    assert value is not None
    return Decimal(str(value))


def _body(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / path).read_text())
    return data["body"]


def test_openai_cached_prompt_tokens_are_part_of_prompt_tokens_and_reasoning_is_output() -> None:
    usage = openai_chat.parse_usage(_body("openai/reasoning_cached_usage.json")["usage"])
    assert usage is not None
    cost, prices = _charge("openai/gpt-6.1-terra", usage)
    assert prices.reasoning_per_mtok is None  # OpenAI bills hidden reasoning as output
    # 2006 prompt tokens of which 1920 cached; 300 completion tokens of which 192 reasoning
    expected = (
        (2006 - 1920) * _d(prices.input_per_mtok)
        + 1920 * _d(prices.cached_input_per_mtok)
        + 300 * _d(prices.output_per_mtok)
    )
    assert cost == _micro(expected)


def test_anthropic_reads_and_5_minute_and_1_hour_writes() -> None:
    raw = {
        "input_tokens": 50,  # excludes cache reads and writes
        "cache_read_input_tokens": 40_000,
        "cache_creation_input_tokens": 12_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 4_000, "ephemeral_1h_input_tokens": 8_000},
        "output_tokens": 500,
    }
    usage = anthropic_messages.parse_usage(raw)
    assert usage is not None
    assert (usage.prompt_tokens, usage.cache_write_tokens, usage.cache_write_long_tokens) == (52_050, 12_000, 8_000)
    cost, prices = _charge("anthropic/claude-sonnet-5-5", usage)
    # Anthropic: writes cost 1.25x the input price for 5 minutes, 2x for 1 hour (from the refreshed map)
    assert _d(prices.cache_write_per_mtok) == Decimal("1.25") * _d(prices.input_per_mtok)
    assert _d(prices.cache_write_long_per_mtok) == 2 * _d(prices.input_per_mtok)
    expected = (
        50 * _d(prices.input_per_mtok)
        + 40_000 * _d(prices.cached_input_per_mtok)
        + 4_000 * _d(prices.cache_write_per_mtok)
        + 8_000 * _d(prices.cache_write_long_per_mtok)
        + 500 * _d(prices.output_per_mtok)
    )
    assert cost == _micro(expected)
    naive = 52_050 * _d(prices.input_per_mtok) + 500 * _d(prices.output_per_mtok)
    assert cost < naive  # every prompt token at the input price would overstate this bill
    print(f"anthropic: naive / billed = {naive / Decimal(cost):.2f}")


def test_anthropic_recorded_response_with_a_large_5_minute_write() -> None:
    usage = anthropic_messages.parse_usage(_body("anthropic/prompt_caching_usage.json")["usage"])
    assert usage is not None and usage.cache_write_long_tokens == 0  # no lifetime split: all 5-minute writes
    cost, prices = _charge("anthropic/claude-haiku-5-5", usage)
    # 188,107 prompt tokens: above the model's long-prompt threshold, so the whole request takes the tier's prices
    tier = prices.tiers[0]
    assert usage.prompt_tokens > tier.above_prompt_tokens
    expected = 21 * _d(tier.input_per_mtok) + 188_086 * _d(tier.cache_write_per_mtok) + 393 * _d(tier.output_per_mtok)
    assert cost == _micro(expected)


def test_gemini_cached_content_and_thoughts() -> None:
    raw = {
        "promptTokenCount": 10_000,
        "cachedContentTokenCount": 8_000,
        "candidatesTokenCount": 200,
        "thoughtsTokenCount": 100,
    }
    usage = gemini_generate.parse_usage(raw)
    assert usage is not None
    cost, prices = _charge("gemini/gemini-4-argon", usage)
    expected = (
        2_000 * _d(prices.input_per_mtok)
        + 8_000 * _d(prices.cached_input_per_mtok)
        + 200 * _d(prices.output_per_mtok)
        + 100 * _d(prices.reasoning_per_mtok)
    )
    assert cost == _micro(expected)


def test_deepseek_cache_hits_and_misses() -> None:
    raw = {
        "prompt_tokens": 1_000,
        "prompt_cache_hit_tokens": 800,
        "prompt_cache_miss_tokens": 200,
        "completion_tokens": 50,
    }
    usage = openai_chat.parse_usage(raw)
    assert usage is not None
    cost, prices = _charge("deepseek/deepseek-v4-flash", usage)
    # A miss is billed as plain input: the map's 0 "cache creation" price must not make it free.
    assert prices.cache_write_per_mtok is None
    expected = (
        200 * _d(prices.input_per_mtok) + 800 * _d(prices.cached_input_per_mtok) + 50 * _d(prices.output_per_mtok)
    )
    assert cost == _micro(expected)


def test_openai_compatible_hosts_groq_and_mistral() -> None:
    raw = {"prompt_tokens": 3_000, "prompt_tokens_details": {"cached_tokens": 2_048}, "completion_tokens": 120}
    usage = openai_chat.parse_usage(raw)
    assert usage is not None
    for key in ("groq/openai/gpt-oss-120b", "mistral/mistral-small-2603"):
        cost, prices = _charge(key, usage)
        expected = (
            952 * _d(prices.input_per_mtok)
            + 2_048 * _d(prices.cached_input_per_mtok)
            + 120 * _d(prices.output_per_mtok)
        )
        assert cost == _micro(expected), key


def test_a_refresh_carries_the_cache_prices_including_1_hour_writes() -> None:
    base = manifest(entry("anthropic", "claude-x", prices={"input_per_mtok": 3.0, "output_per_mtok": 15.0}))
    price_map = {
        "claude-x": {
            "litellm_provider": "anthropic",
            "mode": "chat",
            "input_cost_per_token": 2e-06,
            "output_cost_per_token": 1e-05,
            "cache_read_input_token_cost": 2e-07,
            "cache_creation_input_token_cost": 2.5e-06,
            "cache_creation_input_token_cost_above_1hr": 4e-06,
            "max_input_tokens": 1_000_000,
            "max_output_tokens": 128_000,
        }
    }
    refreshed, _ = refresh_manifest(base, price_map, today=date(2026, 12, 3), as_of="2026-12-03", source="map")
    model: ModelEntry = refreshed.models[0]
    assert (
        model.prices.cached_input_per_mtok,
        model.prices.cache_write_per_mtok,
        model.prices.cache_write_long_per_mtok,
    ) == (0.2, 2.5, 4.0)
