"""Model prices for counterfactual reports, read from the router's manifest or a price file.

Accepted shapes (USD per million tokens):
- the router manifest: {"models": [{"provider": ..., "model": ..., "prices": {"input_per_mtok": ..., ...}}, ...]}
- a plain price file: {"openai/gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0}, ...}
A model is named "provider/model", or by its bare model name when only one provider offers it.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from shared.errors import FieldViolation, InvalidRequest, NotFound

from .reports import ModelPrice

# The router's default manifest, when it is present in this checkout.
DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "router" / "data" / "manifest.json"


class _Prices(msgspec.Struct, kw_only=True):
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None


class _Entry(msgspec.Struct, kw_only=True):
    provider: str
    model: str
    prices: _Prices


class _Manifest(msgspec.Struct, kw_only=True):
    models: list[_Entry]


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
            entries = msgspec.convert(data, _Manifest).models
        else:
            plain = msgspec.convert(data, dict[str, _Prices])
            entries = []
            for name, prices in plain.items():
                provider, sep, model = name.partition("/")
                if not sep or not provider or not model:
                    raise InvalidRequest(
                        f"price file {path}: key {name!r} is not provider/model",
                        violations=[FieldViolation(f"prices.{name}", "key must be provider/model")],
                    )
                entries.append(_Entry(provider=provider, model=model, prices=prices))
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise InvalidRequest(
            f"price file {path} is not a manifest or provider/model price map: {error}",
            violations=[FieldViolation("prices", str(error))],
        ) from error
    return [
        ModelPrice(
            provider=e.provider,
            model=e.model,
            input_per_mtok=e.prices.input_per_mtok,
            output_per_mtok=e.prices.output_per_mtok,
            cached_input_per_mtok=e.prices.cached_input_per_mtok,
        )
        for e in entries
    ]


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
