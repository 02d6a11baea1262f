"""Price updates: reading them from files and feeds, and deciding which ones change the table.

Pure functions shared by the router's feed (services/router/market.py) and `bourse pricing publish`.
A price file is one of: a Bourse manifest, a list of PriceUpdate objects (or {"updates": [...]}), or a
LiteLLM price map. An OpenRouter-style `/models` response is turned into updates for the models of the table.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import msgspec

from shared.errors import FieldViolation, InvalidRequest, Reason
from shared.events.schemas import PriceUpdate
from shared.pricing.litellm_import import entries_from_litellm
from shared.pricing.manifest import Manifest, ModelEntry, Prices, parse_manifest
from shared.pricing.price_table import PRICE_FIELDS, PriceTable

_update_decoder = msgspec.json.Decoder(PriceUpdate)
_updates_decoder = msgspec.json.Decoder(list[PriceUpdate])
_encoder = msgspec.json.Encoder()
PER_MTOK = 1_000_000.0


def decode_update(data: bytes) -> PriceUpdate:
    """Strictly decode one update (wrong types and unknown fields are errors naming the field)."""
    try:
        return _update_decoder.decode(data)
    except msgspec.ValidationError as error:
        text = str(error)
        path = text.rsplit("at `", 1)[1].rstrip("`") if "at `" in text else "$"
        raise InvalidRequest(
            f"malformed price update: {text}",
            reason=Reason.PRICE_UPDATE_MALFORMED,
            violations=[FieldViolation(field=path, description=text)],
        ) from error
    except msgspec.DecodeError as error:
        raise InvalidRequest(
            f"price update is not valid JSON: {error}",
            reason=Reason.PRICE_UPDATE_MALFORMED,
            violations=[FieldViolation(field="$", description=str(error))],
        ) from error


def encode_update(update: PriceUpdate) -> bytes:
    return _encoder.encode(update)


def message_id(update: PriceUpdate) -> str:
    """Nats-Msg-Id of an update: the same content published twice is stored once."""
    digest = hashlib.sha256(encode_update(update)).hexdigest()[:20]
    return f"price:{update.provider}/{update.model}:{digest}"


def update_from_entry(entry: ModelEntry, as_of: str, source: str) -> PriceUpdate:
    prices = entry.prices
    return PriceUpdate(
        provider=entry.provider,
        model=entry.model,
        input_per_mtok=prices.input_per_mtok,
        output_per_mtok=prices.output_per_mtok,
        cached_input_per_mtok=prices.cached_input_per_mtok,
        cache_write_per_mtok=prices.cache_write_per_mtok,
        reasoning_per_mtok=prices.reasoning_per_mtok,
        as_of=entry.prices_as_of or as_of,
        source=source,
    )


def updates_from_manifest(manifest: Manifest, source: str = "manifest") -> list[PriceUpdate]:
    return [update_from_entry(entry, manifest.prices_as_of, source) for entry in manifest.models]


def parse_price_file(raw: bytes, *, source: str = "file", as_of: str = "") -> list[PriceUpdate]:
    """Updates from a manifest, a list of updates, or a LiteLLM price map (detected from the shape)."""
    try:
        data: Any = json.loads(raw)
    except ValueError as error:
        raise InvalidRequest(f"price file is not valid JSON: {error}", reason=Reason.PRICE_FILE_INVALID) from error
    if isinstance(data, dict) and "models" in data:
        return updates_from_manifest(parse_manifest(raw, source=source), source)
    if isinstance(data, dict) and "updates" in data:
        data = data["updates"]
    if isinstance(data, list):
        try:
            return _updates_decoder.decode(_encoder.encode(data))
        except msgspec.ValidationError as error:
            raise InvalidRequest(f"invalid price update in file: {error}", reason=Reason.PRICE_FILE_INVALID) from error
    if isinstance(data, dict):
        entries, _ = entries_from_litellm(data)
        if entries:
            return [update_from_entry(entry, as_of, source) for entry in entries]
    raise InvalidRequest(
        "price file must be a manifest, a list of price updates, or a LiteLLM price map",
        reason=Reason.PRICE_FILE_INVALID,
    )


def _effective(prices: Prices, name: str) -> float:
    value: float | None = getattr(prices, name)
    if value is not None:
        return value
    return prices.output_per_mtok if name == "reasoning_per_mtok" else prices.input_per_mtok


def changes_against(updates: list[PriceUpdate], table: PriceTable) -> list[PriceUpdate]:
    """The updates that would change a price of the table (unknown models are kept: the router rejects them)."""
    changed: list[PriceUpdate] = []
    for update in updates:
        entry = table.get(update.provider, update.model)
        if entry is None:
            changed.append(update)
            continue
        for name in PRICE_FIELDS:
            value = getattr(update, name)
            if value is not None and not math.isclose(value, _effective(entry.prices, name), abs_tol=1e-9):
                changed.append(update)
                break
    return changed


def _per_mtok(value: Any) -> float | None:
    """OpenRouter prices are USD per token, as strings; "-1" means variable (not a fixed price)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return round(number * PER_MTOK, 6)


def updates_from_openrouter(raw: bytes, table: PriceTable, *, provider: str, as_of: str) -> list[PriceUpdate]:
    """Updates for the models of `provider` in the table from an OpenRouter-style /models response."""
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise InvalidRequest(
            f"/models response is not valid JSON: {error}", reason=Reason.PRICE_FEED_INVALID
        ) from error
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidRequest("/models response has no data list", reason=Reason.PRICE_FEED_INVALID)
    updates: list[PriceUpdate] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        if table.get(provider, item["id"]) is None:
            continue
        pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
        assert isinstance(pricing, dict)
        prompt, completion = _per_mtok(pricing.get("prompt")), _per_mtok(pricing.get("completion"))
        if prompt is None or completion is None:
            continue
        updates.append(
            PriceUpdate(
                provider=provider,
                model=item["id"],
                input_per_mtok=prompt,
                output_per_mtok=completion,
                cached_input_per_mtok=_per_mtok(pricing.get("input_cache_read")),
                cache_write_per_mtok=_per_mtok(pricing.get("input_cache_write")),
                reasoning_per_mtok=_per_mtok(pricing.get("internal_reasoning")) or None,
                as_of=as_of,
                source="openrouter-models",
            )
        )
    return updates
