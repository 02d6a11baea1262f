"""The manifest loads, ships a realistic default, and names the path of any bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.config import ConfigError
from shared.pricing.manifest import default_manifest_path, load_manifest, parse_manifest


def _default_raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_manifest_path().read_text())
    return data


def test_default_manifest_covers_the_required_providers() -> None:
    manifest = load_manifest(default_manifest_path())
    providers = {entry.provider for entry in manifest.models}
    assert {"deepseek", "qwen", "mistral", "openai", "anthropic", "gemini", "local"} <= providers
    assert manifest.prices_as_of >= "2026-11-01"  # refreshed from a 2026 price map (docs/pricing.md)
    assert "LiteLLM" in manifest.source
    assert {entry.tier for entry in manifest.models} == {"local", "cheap", "standard", "frontier"}
    # Mistral is hosted in the EU; the residency tag is what GDPR-bound requests filter on.
    assert all("eu" in entry.residency for entry in manifest.models if entry.provider == "mistral")
    assert all(entry.rate_limits is not None and entry.regions for entry in manifest.models)
    assert any(entry.prices.tiers for entry in manifest.models)  # a tiered price (long prompts)


def test_default_manifest_local_entry() -> None:
    manifest = load_manifest(default_manifest_path())
    local = [entry for entry in manifest.models if entry.provider == "local"]
    assert len(local) == 1
    entry = local[0]
    assert entry.model == "smollm2-135m-instruct" and entry.tier == "local" and entry.context_window == 2048
    assert entry.prices.input_per_mtok == 0 and entry.prices.output_per_mtok == 0
    # Measured by bench/local_eval.py on the test split (docs/local-inference.md): precision of served answers.
    assert dict(entry.quality) == {"classification": 0.86, "extraction": 1.0, "formatting": 1.0}
    assert {"json_schema", "json_object"} <= set(entry.capabilities)  # guided decoding follows both


def _error_for(raw: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_manifest(json.dumps(raw))
    return caught.value


def test_negative_price_names_its_path() -> None:
    raw = _default_raw()
    raw["models"][2]["prices"]["input_per_mtok"] = -1
    error = _error_for(raw)
    assert error.violations[0].field == "$.models[2].prices.input_per_mtok"
    assert "$.models[2].prices.input_per_mtok" in error.message


def test_unknown_field_is_rejected_with_its_path() -> None:
    raw = _default_raw()
    raw["models"][0]["prise"] = 1
    assert "$.models[0]" in _error_for(raw).violations[0].field


def test_wrong_type_and_unknown_capability_and_tier() -> None:
    raw = _default_raw()
    raw["models"][1]["context_window"] = "big"
    assert _error_for(raw).violations[0].field == "$.models[1].context_window"
    raw = _default_raw()
    raw["models"][3]["capabilities"] = ["telepathy"]
    assert _error_for(raw).violations[0].field == "$.models[3].capabilities[0]"
    raw = _default_raw()
    raw["models"][4]["tier"] = "premium"
    assert _error_for(raw).violations[0].field == "$.models[4].tier"
    raw = _default_raw()
    raw["models"][0]["quality"]["chat"] = 1.5
    assert _error_for(raw).violations[0].field == "$.models[0].quality[...]"


def test_cross_field_rules() -> None:
    raw = _default_raw()
    raw["models"][5] = dict(raw["models"][4])
    assert _error_for(raw).violations[0].field == "$.models[5].model"  # duplicate provider/model
    raw = _default_raw()
    raw["models"][0]["max_output_tokens"] = raw["models"][0]["context_window"] + 1
    assert _error_for(raw).violations[0].field == "$.models[0].max_output_tokens"
    raw = _default_raw()
    raw["models"][0]["latency_p95_ms"] = 1.0
    assert _error_for(raw).violations[0].field == "$.models[0].latency_p95_ms"
    raw = _default_raw()
    raw["models"][0]["tier"] = "local"
    assert _error_for(raw).violations[0].field == "$.models[0].tier"
    raw = _default_raw()
    raw["models"][0]["regions"] = []
    assert _error_for(raw).violations[0].field == "$.models[0].regions"
    raw = _default_raw()
    raw["models"] = []
    assert _error_for(raw).violations[0].field == "$.models"


def test_price_tiers_must_ascend() -> None:
    raw = _default_raw()
    tier = {"above_prompt_tokens": 1000, "input_per_mtok": 1, "output_per_mtok": 1}
    raw["models"][0]["prices"]["tiers"] = [tier, tier]
    assert _error_for(raw).violations[0].field == "$.models[0].prices.tiers"


def test_unreadable_and_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read manifest"):
        load_manifest(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_manifest(bad)
