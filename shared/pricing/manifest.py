"""The model manifest: every model the router may choose, with prices, limits, abilities and quality.

Loaded from JSON and validated with msgspec; a bad manifest fails start-up with the JSON path of the bad field
(`$.models[3].prices.input_per_mtok`). Prices are USD per million tokens.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from shared.config import ConfigError
from shared.errors import FieldViolation

TASK_KINDS: tuple[str, ...] = (
    "chat",
    "classification",
    "extraction",
    "formatting",
    "summarization",
    "code",
    "reasoning",
    "translation",
)
CAPABILITIES: tuple[str, ...] = ("tools", "json_schema", "json_object", "vision", "streaming", "system_prompt")
# Tier names in the order of bourse.common.v1.ModelTier (LOCAL=1 ... FRONTIER=4).
TIER_VALUES: dict[str, int] = {"local": 1, "cheap": 2, "standard": 3, "frontier": 4}

TaskKindName = Literal[
    "chat", "classification", "extraction", "formatting", "summarization", "code", "reasoning", "translation"
]
CapabilityName = Literal["tools", "json_schema", "json_object", "vision", "streaming", "system_prompt"]
TierName = Literal["local", "cheap", "standard", "frontier"]

Price = Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Tokens = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
Score = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Millis = Annotated[float, msgspec.Meta(gt=0.0, le=3_600_000.0)]


class PriceTier(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Prices that apply to the whole request when its prompt is longer than `above_prompt_tokens`."""

    above_prompt_tokens: Tokens
    input_per_mtok: Price
    output_per_mtok: Price
    cached_input_per_mtok: Price | None = None
    cache_write_per_mtok: Price | None = None
    reasoning_per_mtok: Price | None = None
    cache_write_long_per_mtok: Price | None = None


class Prices(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """USD per million tokens. Unset cached/cache-write/reasoning prices fall back to input/input/output; an
    unset long cache-write price (Anthropic's 1-hour cache) to the cache-write price."""

    input_per_mtok: Price
    output_per_mtok: Price
    cached_input_per_mtok: Price | None = None
    cache_write_per_mtok: Price | None = None
    reasoning_per_mtok: Price | None = None
    cache_write_long_per_mtok: Price | None = None
    tiers: tuple[PriceTier, ...] = ()  # ascending above_prompt_tokens


class RateLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """The account's limits at this provider (0 = unknown/unlimited)."""

    rpm: Annotated[int, msgspec.Meta(ge=0)] = 0
    tpm: Annotated[int, msgspec.Meta(ge=0)] = 0


class ModelEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """One model at one provider."""

    provider: Name
    model: Name
    regions: tuple[Name, ...]
    tier: TierName
    prices: Prices
    context_window: Tokens
    max_output_tokens: Tokens
    capabilities: tuple[CapabilityName, ...] = ()
    quality: dict[TaskKindName, Score] = {}
    residency: tuple[Name, ...] = ()
    rate_limits: RateLimits = RateLimits()
    latency_p50_ms: Millis = 800.0  # defaults until live telemetry is seen
    latency_p95_ms: Millis = 2500.0
    ttft_ms: Millis = 400.0
    prices_as_of: str = ""  # ISO date of this entry's prices when it differs from the manifest's
    retires_on: str = ""  # ISO date the provider retires the model; selection skips it from that day
    notes: str = ""

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    @property
    def tier_value(self) -> int:
        return TIER_VALUES[self.tier]


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    version: Literal[1] = 1
    prices_as_of: Annotated[str, msgspec.Meta(min_length=4)]  # ISO date the prices were taken
    source: str = ""
    models: tuple[ModelEntry, ...]


def default_manifest_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "manifest.json"


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file; raises ConfigError naming the bad field's JSON path."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read manifest {file}: {error}") from error
    return parse_manifest(raw, source=str(file))


def parse_manifest(raw: bytes | str, *, source: str = "manifest") -> Manifest:
    try:
        manifest = msgspec.json.decode(raw, type=Manifest)
    except msgspec.ValidationError as error:
        path = _path_of(str(error))
        raise _config_error(source, path, str(error), _model_at(raw, path)) from error
    except msgspec.DecodeError as error:
        raise _config_error(source, "$", f"not valid JSON: {error}") from error
    check_manifest(manifest, source=source)
    return manifest


# Above this a per-token price is a typo (a price per token written as per million, or a misplaced decimal point):
# USD 1,000 per million tokens is 0.1 US cents per token, several times the dearest model on sale.
ABSURD_PER_MTOK = 1000.0
# Providers that never charge less for an output token than for an input token (hosts of open models may).
OUTPUT_NOT_BELOW_INPUT = frozenset({"openai", "anthropic", "gemini", "deepseek", "mistral", "qwen", "groq"})
_PRICE_FIELDS = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
    "cache_write_long_per_mtok",
)


def check_manifest(manifest: Manifest, *, source: str = "manifest") -> None:
    """Rules msgspec types cannot express: unique models, consistent limits, plausible prices, ordered tiers,
    valid dates. Each error names the model and the JSON path of the field."""
    if not manifest.models:
        raise _config_error(source, "$.models", "the manifest lists no models")
    _check_date(source, "$.prices_as_of", manifest.prices_as_of, "")
    seen: dict[str, int] = {}
    for index, entry in enumerate(manifest.models):
        at = f"$.models[{index}]"
        key = entry.key
        if key in seen:
            raise _config_error(source, f"{at}.model", f"duplicate model (also at $.models[{seen[key]}])", key)
        seen[key] = index
        if not entry.regions:
            raise _config_error(source, f"{at}.regions", "at least one region is required", key)
        if entry.max_output_tokens > entry.context_window:
            detail = f"max_output_tokens {entry.max_output_tokens} is larger than context_window {entry.context_window}"
            raise _config_error(source, f"{at}.max_output_tokens", detail, key)
        if entry.latency_p95_ms < entry.latency_p50_ms:
            raise _config_error(source, f"{at}.latency_p95_ms", "smaller than latency_p50_ms", key)
        if (entry.tier == "local") != (entry.provider == "local"):
            raise _config_error(source, f"{at}.tier", "tier 'local' is for provider 'local' only, and vice versa", key)
        thresholds = [tier.above_prompt_tokens for tier in entry.prices.tiers]
        if thresholds != sorted(set(thresholds)):
            detail = "tiers must have strictly ascending above_prompt_tokens"
            raise _config_error(source, f"{at}.prices.tiers", detail, key)
        _check_prices(source, f"{at}.prices", entry.prices, entry.provider, key)
        for number, tier in enumerate(entry.prices.tiers):
            _check_prices(source, f"{at}.prices.tiers[{number}]", tier, entry.provider, key)
        _check_date(source, f"{at}.prices_as_of", entry.prices_as_of, key)
        _check_date(source, f"{at}.retires_on", entry.retires_on, key)


def _check_prices(source: str, at: str, prices: Prices | PriceTier, provider: str, key: str) -> None:
    for name in _PRICE_FIELDS:
        value: float | None = getattr(prices, name)
        if value is None:
            continue
        if not math.isfinite(value) or value < 0:
            raise _config_error(source, f"{at}.{name}", f"{value} is not a finite price >= 0", key)
        if value > ABSURD_PER_MTOK:
            detail = f"{value:g} USD per million tokens is above the plausible {ABSURD_PER_MTOK:g}"
            raise _config_error(source, f"{at}.{name}", detail, key)
    if provider in OUTPUT_NOT_BELOW_INPUT and prices.output_per_mtok < prices.input_per_mtok:
        detail = (
            f"output {prices.output_per_mtok:g} is below input {prices.input_per_mtok:g}, "
            f"which {provider} never charges (swapped prices?)"
        )
        raise _config_error(source, f"{at}.output_per_mtok", detail, key)


def _check_date(source: str, at: str, text: str, key: str) -> None:
    if not text:
        return
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        raise _config_error(source, at, f"{text!r} is not an ISO date (YYYY-MM-DD)", key) from None


def _config_error(source: str, path: str, detail: str, model: str = "") -> ConfigError:
    named = f"model {model}: {detail}" if model else detail
    return ConfigError(
        f"invalid manifest {source} at {path}: {named}",
        violations=[FieldViolation(field=path, description=named)],
    )


def _model_at(raw: bytes | str, path: str) -> str:
    """The "provider/model" of the entry a JSON path points into, when the file says (for error messages)."""
    match = re.match(r"\$\.models\[(\d+)\]", path)
    if match is None:
        return ""
    try:
        item = json.loads(raw)["models"][int(match.group(1))]
        return f"{item['provider']}/{item['model']}"
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _path_of(message: str) -> str:
    marker = "at `"
    if marker in message:
        return message.rsplit(marker, 1)[1].rstrip("`")
    return "$"
