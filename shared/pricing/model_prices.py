"""One model's prices by name, for reports that reprice traffic on another model (the ledger's counterfactuals).

Read from a manifest (the packaged one by default) or a plain price file, both with the manifest's `Prices` type:
- a manifest: {"models": [{"provider": ..., "model": ..., "prices": {"input_per_mtok": ..., ...}}, ...]}
  (fields other than provider, model and prices are not needed here and are ignored);
- a plain price file: {"openai/gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0}, ...}.
A model is named "provider/model", or by its bare model name when only one provider offers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import msgspec

from shared.errors import FieldViolation, InvalidRequest, NotFound
from shared.pricing.manifest import Prices, PriceTier


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's prices in USD per million tokens (the manifest's price fields, flat)."""

    provider: str
    model: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    reasoning_per_mtok: float | None = None
    tiers: tuple[PriceTier, ...] = ()
    cache_write_long_per_mtok: float | None = None

    @classmethod
    def of(cls, provider: str, model: str, prices: Prices) -> ModelPrice:
        return cls(
            provider=provider,
            model=model,
            input_per_mtok=prices.input_per_mtok,
            output_per_mtok=prices.output_per_mtok,
            cached_input_per_mtok=prices.cached_input_per_mtok,
            cache_write_per_mtok=prices.cache_write_per_mtok,
            reasoning_per_mtok=prices.reasoning_per_mtok,
            tiers=prices.tiers,
            cache_write_long_per_mtok=prices.cache_write_long_per_mtok,
        )

    def prices(self) -> Prices:
        return Prices(
            input_per_mtok=self.input_per_mtok,
            output_per_mtok=self.output_per_mtok,
            cached_input_per_mtok=self.cached_input_per_mtok,
            cache_write_per_mtok=self.cache_write_per_mtok,
            reasoning_per_mtok=self.reasoning_per_mtok,
            tiers=self.tiers,
            cache_write_long_per_mtok=self.cache_write_long_per_mtok,
        )

    def validate(self) -> None:
        """Raise InvalidRequest naming every missing model name and negative or non-finite price."""
        violations = []
        if not self.model:
            violations.append(FieldViolation("target.model", "is required"))
        for name in _PRICE_FIELDS:
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                violations.append(FieldViolation(f"target.{name}", "must be a finite number >= 0"))
        previous = 0
        for index, tier in enumerate(self.tiers):
            for name in _PRICE_FIELDS:
                value = getattr(tier, name)
                if value is not None and not (math.isfinite(value) and value >= 0):
                    violations.append(FieldViolation(f"target.tiers[{index}].{name}", "must be a finite number >= 0"))
            if tier.above_prompt_tokens <= previous:
                violations.append(
                    FieldViolation(f"target.tiers[{index}].above_prompt_tokens", "must be positive and ascending")
                )
            previous = tier.above_prompt_tokens
        if violations:
            raise InvalidRequest("invalid target model prices", violations=violations)


_PRICE_FIELDS = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
    "cache_write_long_per_mtok",
)


class _PricedEntry(msgspec.Struct, kw_only=True):
    provider: str
    model: str
    prices: Prices


class _PricedManifest(msgspec.Struct, kw_only=True):
    models: list[_PricedEntry]


def read_prices(path: Path) -> list[ModelPrice]:
    """Every model's prices in a manifest or price file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InvalidRequest(
            f"cannot read price file {path}: {error}", violations=[FieldViolation("prices", str(error))]
        ) from error
    try:
        data = msgspec.json.decode(raw)
        if isinstance(data, dict) and "models" in data:
            entries = msgspec.convert(data, _PricedManifest).models
        else:
            plain = msgspec.convert(data, dict[str, Prices])
            entries = []
            for name, prices in plain.items():
                provider, sep, model = name.partition("/")
                if not sep or not provider or not model:
                    raise InvalidRequest(
                        f"price file {path}: key {name!r} is not provider/model",
                        violations=[FieldViolation(f"prices.{name}", "key must be provider/model")],
                    )
                entries.append(_PricedEntry(provider=provider, model=model, prices=prices))
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise InvalidRequest(
            f"price file {path} is not a manifest or provider/model price map: {error}",
            violations=[FieldViolation("prices", str(error))],
        ) from error
    return [ModelPrice.of(e.provider, e.model, e.prices) for e in entries]


def find_price(name: str, prices: list[ModelPrice]) -> ModelPrice:
    """The prices of "provider/model", or of a bare model name offered by exactly one provider."""
    provider, sep, model = name.partition("/")
    if sep:
        matches = [p for p in prices if p.provider == provider and p.model == model]
        if not matches:  # model names may themselves hold a slash ("meta-llama/Llama-3.3-70B")
            matches = [p for p in prices if p.model == name]
    else:
        matches = [p for p in prices if p.model == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no prices for model {name!r}", metadata={"model": name})
    options = ", ".join(f"{p.provider}/{p.model}" for p in matches)
    raise InvalidRequest(
        f"model {name!r} is ambiguous: {options}", violations=[FieldViolation("compare_to", f"one of {options}")]
    )
