"""LiteLLM's model_prices_and_context_window.json format imports into manifest entries and price updates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import ConfigError
from shared.pricing.litellm_import import (
    entries_from_litellm,
    load_configured_manifest,
    merge_litellm,
    parse_litellm,
)
from shared.pricing.manifest import default_manifest_path, load_manifest
from shared.pricing.prices import parse_price_file

FIXTURE = Path(__file__).parent / "data" / "litellm_prices.json"


def _data() -> dict[str, object]:
    return parse_litellm(FIXTURE.read_bytes())


def test_chat_models_of_known_providers_are_imported() -> None:
    entries, report = entries_from_litellm(_data())
    by_key = {entry.key: entry for entry in entries}
    assert set(by_key) == {
        "openai/gpt-4o-mini",
        "anthropic/claude-3-5-haiku-20241022",
        "gemini/gemini-2.5-pro",
        "deepseek/deepseek-chat",
        "mistral/mistral-small-2503",
        "groq/llama-3.1-8b-instant",
        "openai/o1-preview-legacy",
    }
    assert "not chat" in report.skipped["text-embedding-3-small"]
    assert "bedrock" in report.skipped["bedrock/anthropic.claude-3-haiku-20240307-v1:0"]
    assert "no context window" in report.skipped["together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"]
    assert "openai/broken-entry" in report.skipped and "sample_spec" not in report.skipped

    mini = by_key["openai/gpt-4o-mini"]
    assert (mini.prices.input_per_mtok, mini.prices.output_per_mtok, mini.prices.cached_input_per_mtok) == (
        0.15,
        0.6,
        0.075,
    )
    assert (mini.context_window, mini.max_output_tokens, mini.tier) == (128_000, 16_384, "cheap")
    assert set(mini.capabilities) == {"tools", "json_schema", "json_object", "vision", "streaming", "system_prompt"}
    assert mini.quality == {}  # imported models carry no quality scores

    haiku = by_key["anthropic/claude-3-5-haiku-20241022"]
    assert haiku.prices.cache_write_per_mtok == 1.0 and haiku.tier == "standard"
    pro = by_key["gemini/gemini-2.5-pro"]
    assert pro.tier == "frontier" and pro.prices.tiers[0].above_prompt_tokens == 200_000
    assert (pro.prices.tiers[0].input_per_mtok, pro.prices.tiers[0].output_per_mtok) == (2.5, 15.0)
    assert by_key["mistral/mistral-small-2503"].residency == ("eu",)
    assert by_key["deepseek/deepseek-chat"].model == "deepseek-chat"
    legacy = by_key["openai/o1-preview-legacy"]
    assert "streaming" not in legacy.capabilities and "system_prompt" not in legacy.capabilities


def test_merge_updates_known_models_and_adds_new_ones() -> None:
    base = load_manifest(default_manifest_path())
    data = _data()
    data["gpt-4o-mini"]["input_cost_per_token"] = 1e-07  # type: ignore[index]
    merged, report = merge_litellm(base, data)
    mini = next(e for e in merged.models if e.key == "openai/gpt-4o-mini")
    original = next(e for e in base.models if e.key == "openai/gpt-4o-mini")
    assert mini.prices.input_per_mtok == 0.1
    assert mini.quality == original.quality and mini.latency_p95_ms == original.latency_p95_ms
    assert "openai/gpt-4o-mini" in report.updated and "openai/o1-preview-legacy" in report.added
    assert len(merged.models) == len(base.models) + len(report.added)
    only_known, report = merge_litellm(base, data, add_new=False)
    assert len(only_known.models) == len(base.models) and not report.added


def test_configured_manifest_with_and_without_litellm(tmp_path: Path) -> None:
    assert load_configured_manifest("") == load_manifest(default_manifest_path())
    merged = load_configured_manifest("", FIXTURE)
    assert any(entry.key == "openai/o1-preview-legacy" for entry in merged.models)
    with pytest.raises(ConfigError, match="cannot read LiteLLM"):
        load_configured_manifest("", tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        load_configured_manifest("", bad)
    bad.write_text("{oops")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_configured_manifest("", bad)


def test_a_litellm_map_is_a_price_file() -> None:
    updates = parse_price_file(FIXTURE.read_bytes(), source="litellm", as_of="2025-07-01")
    mini = next(u for u in updates if u.model == "gpt-4o-mini")
    assert (mini.provider, mini.input_per_mtok, mini.output_per_mtok, mini.as_of) == ("openai", 0.15, 0.6, "2025-07-01")
    assert json.loads(FIXTURE.read_text())["gpt-4o-mini"]["mode"] == "chat"
