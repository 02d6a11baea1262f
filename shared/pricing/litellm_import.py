"""Import LiteLLM's `model_prices_and_context_window.json`, so users start from the price map they keep.

Chat models of the providers Bourse knows are mapped to manifest entries: per-token costs become prices per
million tokens, `max_input_tokens`/`max_output_tokens` the limits, `supports_*` flags the capabilities.
A model already in the manifest takes LiteLLM's prices and keeps everything else; a new model is added with
its provider's default regions and residency, a tier from its output price, and no quality scores (so it never
passes a `min_quality` constraint until scores are added).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from shared.config import ConfigError
from shared.pricing.manifest import (
    Manifest,
    ModelEntry,
    Prices,
    PriceTier,
    check_manifest,
    default_manifest_path,
    load_manifest,
)

# LiteLLM provider name -> (Bourse provider, default regions, residency tags).
PROVIDERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "openai": ("openai", ("us-east",), ("us",)),
    "anthropic": ("anthropic", ("us-east",), ("us",)),
    "gemini": ("gemini", ("us-central",), ("us",)),
    "deepseek": ("deepseek", ("cn",), ("cn",)),
    "dashscope": ("qwen", ("ap-southeast",), ("sg",)),
    "mistral": ("mistral", ("eu-west",), ("eu",)),
    "groq": ("groq", ("us-east",), ("us",)),
    "together_ai": ("together", ("us-east",), ("us",)),
    "fireworks_ai": ("fireworks", ("us-east",), ("us",)),
    "openrouter": ("openrouter", ("us-east",), ()),
}
PER_MTOK = 1_000_000.0
_TIER_KEY = re.compile(r"input_cost_per_token_above_(\d+)k_tokens")
CHEAP_MAX_OUTPUT_PRICE = 1.25
STANDARD_MAX_OUTPUT_PRICE = 5.0


class LiteLLMModel(msgspec.Struct, kw_only=True):
    """The fields Bourse reads from one LiteLLM entry (others are ignored)."""

    litellm_provider: str = ""
    mode: str = "chat"
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    output_cost_per_reasoning_token: float | None = None
    cache_creation_input_token_cost_above_1hr: float | None = None  # Anthropic's 1-hour cache writes
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    max_tokens: int | None = None
    supports_function_calling: bool = False
    supports_vision: bool = False
    supports_response_schema: bool = False
    supports_system_messages: bool | None = None
    supports_native_streaming: bool | None = None
    deprecation_date: str | None = None


@dataclass
class ImportReport:
    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # LiteLLM key -> why


def parse_litellm(raw: bytes | str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"LiteLLM price map is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError("LiteLLM price map must be a JSON object keyed by model name")
    return data


def _mtok(per_token: float | None) -> float | None:
    return None if per_token is None else round(per_token * PER_MTOK, 6)


def _entry_from(key: str, item: LiteLLMModel, raw_item: dict[str, Any]) -> tuple[ModelEntry | None, str]:
    mapping = PROVIDERS.get(item.litellm_provider)
    if mapping is None:
        return None, f"provider {item.litellm_provider or '(none)'} is not routed by Bourse"
    if item.mode != "chat":
        return None, f"mode {item.mode} is not chat"
    if item.input_cost_per_token is None or item.output_cost_per_token is None:
        return None, "no input/output price"
    provider, regions, residency = mapping
    model = key
    for prefix in (f"{item.litellm_provider}/", f"{provider}/"):
        model = model.removeprefix(prefix)
    context = item.max_input_tokens or item.max_tokens
    if not context:
        return None, "no context window"
    max_output = min(item.max_output_tokens or item.max_tokens or min(4096, context), context)
    tiers = _tiers(raw_item)
    prices = Prices(
        input_per_mtok=_mtok(item.input_cost_per_token) or 0.0,
        output_per_mtok=_mtok(item.output_cost_per_token) or 0.0,
        cached_input_per_mtok=_mtok(item.cache_read_input_token_cost),
        cache_write_per_mtok=_cache_write(item),
        reasoning_per_mtok=_mtok(item.output_cost_per_reasoning_token),
        cache_write_long_per_mtok=_mtok(item.cache_creation_input_token_cost_above_1hr),
        tiers=tiers,
    )
    capabilities = _capabilities(item)
    tier = _tier(prices.output_per_mtok)
    raw = {
        "provider": provider,
        "model": model,
        "regions": list(regions),
        "tier": tier,
        "prices": msgspec.to_builtins(prices),
        "context_window": context,
        "max_output_tokens": max_output,
        "capabilities": capabilities,
        "residency": list(residency),
        "notes": f"imported from LiteLLM ({key})",
    }
    if item.deprecation_date:
        raw["retires_on"] = item.deprecation_date
    try:
        return msgspec.convert(raw, ModelEntry), ""
    except msgspec.ValidationError as error:
        return None, str(error)


def _cache_write(item: LiteLLMModel) -> float | None:
    # A zero write price beside a paid input price means "not billed separately" (DeepSeek bills a cache miss
    # as plain input), not "free": leave it unset so cache-write tokens cost the input price.
    if item.cache_creation_input_token_cost == 0 and item.input_cost_per_token:
        return None
    return _mtok(item.cache_creation_input_token_cost)


def _tiers(raw: dict[str, Any]) -> tuple[PriceTier, ...]:
    """Long-prompt prices: `input_cost_per_token_above_<N>k_tokens` and its siblings (batch/flex/priority
    variants, which Bourse does not buy, are skipped)."""
    tiers: list[PriceTier] = []
    for name, value in raw.items():
        match = _TIER_KEY.fullmatch(name)
        if match is None or not isinstance(value, int | float):
            continue
        suffix = f"_above_{match.group(1)}k_tokens"

        def price(field: str, suffix: str = suffix) -> float | None:
            number = raw.get(field + suffix)
            return _mtok(float(number)) if isinstance(number, int | float) else None

        base_output = raw.get("output_cost_per_token")
        tiers.append(
            PriceTier(
                above_prompt_tokens=int(match.group(1)) * 1000,
                input_per_mtok=_mtok(float(value)) or 0.0,
                output_per_mtok=price("output_cost_per_token")
                or (_mtok(float(base_output)) if isinstance(base_output, int | float) else None)
                or 0.0,
                cached_input_per_mtok=price("cache_read_input_token_cost"),
                cache_write_per_mtok=price("cache_creation_input_token_cost"),
                reasoning_per_mtok=price("output_cost_per_reasoning_token"),
                cache_write_long_per_mtok=price("cache_creation_input_token_cost_above_1hr"),
            )
        )
    return tuple(sorted(tiers, key=lambda tier: tier.above_prompt_tokens))


def _capabilities(item: LiteLLMModel) -> list[str]:
    capabilities: list[str] = []
    if item.supports_function_calling:
        capabilities.append("tools")
    if item.supports_response_schema:
        capabilities += ["json_schema", "json_object"]
    if item.supports_vision:
        capabilities.append("vision")
    if item.supports_native_streaming is not False:
        capabilities.append("streaming")
    if item.supports_system_messages is not False:
        capabilities.append("system_prompt")
    return capabilities


def _tier(output_per_mtok: float) -> str:
    if output_per_mtok <= CHEAP_MAX_OUTPUT_PRICE:
        return "cheap"
    if output_per_mtok <= STANDARD_MAX_OUTPUT_PRICE:
        return "standard"
    return "frontier"


def entries_from_litellm(data: dict[str, Any]) -> tuple[list[ModelEntry], ImportReport]:
    """Every importable chat model of a LiteLLM price map."""
    report = ImportReport()
    entries: dict[str, ModelEntry] = {}
    for key, value in data.items():
        if key == "sample_spec" or not isinstance(value, dict):
            continue
        try:
            item = msgspec.convert(value, LiteLLMModel, strict=False)
        except msgspec.ValidationError as error:
            report.skipped[key] = str(error)
            continue
        entry, why = _entry_from(key, item, value)
        if entry is None:
            report.skipped[key] = why
        elif entry.key in entries:
            report.skipped[key] = f"duplicate of {entry.key}"
        else:
            entries[entry.key] = entry
    return list(entries.values()), report


def merge_litellm(base: Manifest, data: dict[str, Any], *, add_new: bool = True) -> tuple[Manifest, ImportReport]:
    """The manifest with LiteLLM's prices for the models it knows, plus (optionally) the models it lacks."""
    imported, report = entries_from_litellm(data)
    by_key = {entry.key: entry for entry in imported}
    merged: list[ModelEntry] = []
    for entry in base.models:
        fresh = by_key.pop(entry.key, None)
        if fresh is None:
            merged.append(entry)
            continue
        merged.append(msgspec.structs.replace(entry, prices=fresh.prices))
        report.updated.append(entry.key)
    if add_new:
        merged.extend(by_key.values())
        report.added.extend(by_key)
    manifest = msgspec.structs.replace(base, models=tuple(merged))
    check_manifest(manifest, source="manifest merged with LiteLLM prices")
    return manifest, report


def load_configured_manifest(manifest_path: str | Path, litellm_prices_path: str | Path = "") -> Manifest:
    """The router's start-up manifest: the file (or the packaged default) merged with an optional LiteLLM map."""
    manifest = load_manifest(manifest_path or default_manifest_path())
    if not litellm_prices_path:
        return manifest
    path = Path(litellm_prices_path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read LiteLLM price map {path}: {error}") from error
    merged, _ = merge_litellm(manifest, parse_litellm(raw))
    return merged
