"""The data checks a manifest must pass: each bad value is refused with a message naming the model and the field.

Run on the shipped manifest (it passes) and on copies of it with one fault each.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.config import ConfigError
from shared.pricing.manifest import ABSURD_PER_MTOK, default_manifest_path, parse_manifest


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_manifest_path().read_text())
    return data


def _index(raw: dict[str, Any], provider: str) -> int:
    return next(i for i, m in enumerate(raw["models"]) if m["provider"] == provider)


def _refused(raw: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_manifest(json.dumps(raw))
    return caught.value


def _key(raw: dict[str, Any], index: int) -> str:
    return f"{raw['models'][index]['provider']}/{raw['models'][index]['model']}"


def test_the_shipped_manifest_passes_every_check() -> None:
    manifest = parse_manifest(default_manifest_path().read_bytes())
    assert len(manifest.models) > 30


def test_a_negative_price_is_refused_naming_the_model() -> None:
    raw = _shipped()
    i = _index(raw, "anthropic")
    raw["models"][i]["prices"]["cached_input_per_mtok"] = -0.3
    error = _refused(raw)
    assert error.violations[0].field == f"$.models[{i}].prices.cached_input_per_mtok"
    assert f"model {_key(raw, i)}" in error.message


@pytest.mark.parametrize("field", ["input_per_mtok", "output_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok"])
def test_an_absurd_per_token_price_is_refused(field: str) -> None:
    raw = _shipped()
    i = _index(raw, "openai")
    raw["models"][i]["prices"][field] = 2.5  # fine
    raw["models"][i]["prices"]["output_per_mtok"] = max(raw["models"][i]["prices"]["output_per_mtok"], 2.5)
    raw["models"][i]["prices"][field] = 2500.0  # USD per token pasted as per million
    error = _refused(raw)
    assert error.violations[0].field == f"$.models[{i}].prices.{field}"
    assert f"model {_key(raw, i)}" in error.message and f"{ABSURD_PER_MTOK:g}" in error.message


def test_an_absurd_price_in_a_long_prompt_tier_is_refused() -> None:
    raw = _shipped()
    i = next(i for i, m in enumerate(raw["models"]) if m["prices"].get("tiers"))
    raw["models"][i]["prices"]["tiers"][0]["input_per_mtok"] = 5000.0
    error = _refused(raw)
    assert error.violations[0].field == f"$.models[{i}].prices.tiers[0].input_per_mtok"
    assert f"model {_key(raw, i)}" in error.message


def test_output_below_input_is_refused_where_the_provider_never_does_that() -> None:
    raw = _shipped()
    i = _index(raw, "gemini")
    prices = raw["models"][i]["prices"]
    prices["input_per_mtok"], prices["output_per_mtok"] = prices["output_per_mtok"], prices["input_per_mtok"]
    error = _refused(raw)
    assert error.violations[0].field == f"$.models[{i}].prices.output_per_mtok"
    assert f"model {_key(raw, i)}" in error.message and "swapped" in error.message


def test_output_below_input_is_allowed_for_hosts_that_price_that_way() -> None:
    raw = _shipped()
    i = _index(raw, "together")
    raw["models"][i]["prices"].update({"input_per_mtok": 0.9, "output_per_mtok": 0.6})
    assert parse_manifest(json.dumps(raw)).models[i].prices.output_per_mtok == 0.6


def test_a_duplicate_model_is_refused() -> None:
    raw = _shipped()
    raw["models"].append(dict(raw["models"][3]))
    error = _refused(raw)
    assert error.violations[0].field == f"$.models[{len(raw['models']) - 1}].model"
    assert f"model {_key(raw, 3)}: duplicate model (also at $.models[3])" in error.message


def test_an_unknown_capability_is_refused_naming_the_model() -> None:
    raw = _shipped()
    raw["models"][5]["capabilities"] = ["tools", "telepathy"]
    error = _refused(raw)
    assert error.violations[0].field == "$.models[5].capabilities[1]"
    assert f"model {_key(raw, 5)}" in error.message


def test_a_context_window_below_the_max_output_is_refused() -> None:
    raw = _shipped()
    raw["models"][2]["context_window"] = 1000
    raw["models"][2]["max_output_tokens"] = 4096
    error = _refused(raw)
    assert error.violations[0].field == "$.models[2].max_output_tokens"
    assert f"model {_key(raw, 2)}: max_output_tokens 4096 is larger than context_window 1000" in error.message


def test_a_bad_date_is_refused() -> None:
    raw = _shipped()
    raw["models"][1]["retires_on"] = "next spring"
    error = _refused(raw)
    assert error.violations[0].field == "$.models[1].retires_on"
    assert f"model {_key(raw, 1)}" in error.message
    raw = _shipped()
    raw["prices_as_of"] = "last year"
    assert _refused(raw).violations[0].field == "$.prices_as_of"
