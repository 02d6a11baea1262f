"""Refresh the manifest from a LiteLLM price map: upstream prices, limits, abilities and retirement dates for
the models we list; our own fields (tier, quality, regions, residency, rate limits, latency) untouched.

A model that is retired (or due within `replace_within_days`) or that the map no longer lists is replaced by its
successor from `data/successors.json` (the policy is in docs/pricing.md) when the map has the successor. The
report is the diff an operator reads before committing: price moves in %, models upstream we do not list,
models we list that upstream dropped, models past or near their retirement date.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec

from shared.config import ConfigError
from shared.pricing.litellm_import import PROVIDERS, entries_from_litellm
from shared.pricing.manifest import CAPABILITIES, Manifest, ModelEntry, check_manifest

REPRODUCIBLE_BUILD_YEAR = 1980
WHEEL_MEMBER = "litellm/model_prices_and_context_window_backup.json"
PRICE_FIELDS = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "cache_write_long_per_mtok",
)
# Our provider -> LiteLLM's provider name (the inverse of litellm_import.PROVIDERS).
LITELLM_PROVIDER: dict[str, str] = {ours: theirs for theirs, (ours, _, _) in PROVIDERS.items()}
# Our "provider/model" -> the map's key, for ids the default rule (the bare id, then "<litellm provider>/<id>",
# each only when the entry's litellm_provider is ours) does not find. Every id of the shipped manifest follows
# the rule today; add a line when a provider's id and LiteLLM's key part ways.
LITELLM_KEYS: dict[str, str] = {}
# Abilities the map states; the others (json_object, streaming, system_prompt) it rarely records, so ours stay.
MAPPED_CAPABILITIES = frozenset({"tools", "json_schema", "vision"})
# Upstream models worth listing for an operator: not previews, aliases or special-purpose variants.
_NOT_LISTED_WORTHY = ("ft:", "preview", "latest", "exp", "audio", "realtime", "tts", "search", "computer-use", "-ft-")


class Successor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model: str
    why: str


def default_successors_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "successors.json"


def load_successors(path: Path | None = None) -> dict[str, Successor]:
    """Our "provider/model" -> the model that replaces it at the same provider, tier and purpose."""
    file = path or default_successors_path()
    try:
        return msgspec.json.decode(file.read_bytes(), type=dict[str, Successor])
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ConfigError(f"invalid successor table {file}: {error}") from error


@dataclass(frozen=True, slots=True)
class PriceMove:
    key: str
    field: str
    old: float | None
    new: float | None

    @property
    def percent(self) -> float | None:
        if self.old is None or self.new is None or self.old == 0:
            return None
        return 100.0 * (self.new - self.old) / self.old


@dataclass
class RefreshReport:
    source: str
    as_of: str
    refreshed: list[str] = field(default_factory=list)
    moves: list[PriceMove] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)  # context window / max output / capability changes
    dropped: list[str] = field(default_factory=list)  # we list it, the map does not
    unlisted: dict[str, list[str]] = field(default_factory=dict)  # provider -> current upstream models we lack
    retired: list[tuple[str, str]] = field(default_factory=list)  # (key, date) past retirement
    retiring: list[tuple[str, str]] = field(default_factory=list)  # (key, date) due within the warning window
    replaced: list[tuple[str, str, str]] = field(default_factory=list)  # (old key, new key, why)

    def lines(self, *, unlisted_per_provider: int = 8) -> list[str]:
        out = [f"source: {self.source}", f"prices as of: {self.as_of}", f"refreshed: {len(self.refreshed)} model(s)"]
        if self.replaced:
            out.append("replaced:")
            out += [f"  {old} -> {new} ({why})" for old, new, why in self.replaced]
        if self.moves:
            out.append("price moves (USD per million tokens):")
            for move in self.moves:
                pct = move.percent
                shown = f"{pct:+.1f}%" if pct is not None else "new" if move.old is None else "removed"
                out.append(f"  {move.key} {move.field}: {_num(move.old)} -> {_num(move.new)} ({shown})")
        if self.limits:
            out.append("limits and abilities:")
            out += [f"  {line}" for line in self.limits]
        if self.dropped:
            out.append("listed by us, not in the map (prices kept, dated as before):")
            out += [f"  {key}" for key in self.dropped]
        if self.retired:
            out.append("past their retirement date (selection skips them):")
            out += [f"  {key} retired on {day}" for key, day in self.retired]
        if self.retiring:
            out.append("retiring soon:")
            out += [f"  {key} on {day}" for key, day in self.retiring]
        if self.unlisted:
            total = sum(len(models) for models in self.unlisted.values())
            out.append(f"upstream models we do not list: {total}")
            for provider, models in sorted(self.unlisted.items()):
                more = f" (+{len(models) - unlisted_per_provider} more)" if len(models) > unlisted_per_provider else ""
                out.append(f"  {provider}: {', '.join(models[:unlisted_per_provider])}{more}")
        return out


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def price_map_from_wheel(path: Path) -> tuple[dict[str, Any], str]:
    """The price map inside a litellm wheel, and the date it was packed ("" when the wheel was built with the
    fixed 1980 timestamps of reproducible builds). Read as a zip; nothing is imported."""
    try:
        with zipfile.ZipFile(path) as wheel:
            info = wheel.getinfo(WHEEL_MEMBER)
            raw = wheel.read(info)
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise ConfigError(f"cannot read {WHEEL_MEMBER} from {path}: {error}") from error
    year, month, day = info.date_time[:3]
    packed = date(year, month, day).isoformat() if year > REPRODUCIBLE_BUILD_YEAR else ""
    return _parse_map(raw, str(path)), packed


def read_price_map(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read price map {path}: {error}") from error
    return _parse_map(raw, str(path))


def _parse_map(raw: bytes, source: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"price map {source} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"price map {source} must be a JSON object keyed by model name")
    return data


def litellm_key(provider: str, model: str, data: dict[str, Any], keys: dict[str, str] | None = None) -> str | None:
    """The map's key for our model: the table (LITELLM_KEYS), else the bare id, else "<litellm provider>/<id>"."""
    theirs = LITELLM_PROVIDER.get(provider)
    if theirs is None:
        return None
    listed = (LITELLM_KEYS if keys is None else keys).get(f"{provider}/{model}")
    for key in ([listed] if listed else []) + [model, f"{theirs}/{model}"]:
        item = data.get(key)
        if isinstance(item, dict) and item.get("litellm_provider") == theirs:
            return key
    return None


def _upstream(data: dict[str, Any], key: str) -> ModelEntry | None:
    entries, _ = entries_from_litellm({key: data[key]})
    return entries[0] if entries else None


def refresh_manifest(
    manifest: Manifest,
    data: dict[str, Any],
    *,
    today: date,
    as_of: str,
    source: str,
    successors: dict[str, Successor] | None = None,
    replace_within_days: int = 30,
    warn_within_days: int = 90,
) -> tuple[Manifest, RefreshReport]:
    """The manifest with the map's prices, limits, abilities and retirement dates for the models we list."""
    report = RefreshReport(source=source, as_of=as_of)
    successors = successors or {}
    replace_by = (today + timedelta(days=replace_within_days)).isoformat()
    warn_by = (today + timedelta(days=warn_within_days)).isoformat()
    listed_keys = {entry.key for entry in manifest.models}
    models: list[ModelEntry] = []
    for entry in manifest.models:
        if entry.provider == "local":
            models.append(entry)
            continue
        key = litellm_key(entry.provider, entry.model, data)
        upstream = _upstream(data, key) if key else None
        retires = upstream.retires_on if upstream else entry.retires_on
        successor = successors.get(entry.key)
        gone = upstream is None or (retires != "" and retires <= replace_by)
        if gone and successor is not None and f"{entry.provider}/{successor.model}" not in listed_keys:
            new_key = litellm_key(entry.provider, successor.model, data)
            fresh = _upstream(data, new_key) if new_key else None
            if fresh is not None and not (fresh.retires_on and fresh.retires_on <= replace_by):
                why = f"retires {retires}" if upstream is not None and retires else "not in the price map"
                report.replaced.append((entry.key, fresh.key, f"{why}; {successor.why}"))
                replacement = msgspec.structs.replace(
                    entry,
                    model=successor.model,
                    prices_as_of="",
                    retires_on="",
                    notes=f"replaces {entry.model} ({why}); quality scores carried over until measured",
                )
                models.append(_apply(replacement, fresh, report, new=True))
                continue
        if upstream is None:
            report.dropped.append(entry.key)
            # Keep the prices with their own date, so their age stays visible.
            models.append(
                entry if entry.prices_as_of else msgspec.structs.replace(entry, prices_as_of=manifest.prices_as_of)
            )
            continue
        models.append(_apply(entry, upstream, report, new=False))
    refreshed = msgspec.structs.replace(
        manifest, prices_as_of=as_of, source=_source_text(manifest.source, source), models=tuple(models)
    )
    check_manifest(refreshed, source="refreshed manifest")
    for entry in refreshed.models:
        if entry.retires_on and entry.retires_on <= today.isoformat():
            report.retired.append((entry.key, entry.retires_on))
        elif entry.retires_on and entry.retires_on <= warn_by:
            report.retiring.append((entry.key, entry.retires_on))
    report.unlisted = _unlisted(data, {entry.key for entry in refreshed.models}, today)
    return refreshed, report


def _source_text(previous: str, source: str) -> str:
    # Our own remarks (quality, rate limits, latency) stay; the price provenance is replaced.
    remarks = previous.split(" Quality scores", 1)
    tail = f" Quality scores{remarks[1]}" if len(remarks) == 2 else ""
    return f"Prices, context windows, capabilities and retirement dates: {source}.{tail}"


def _apply(entry: ModelEntry, upstream: ModelEntry, report: RefreshReport, *, new: bool) -> ModelEntry:
    key = entry.key
    old = entry.prices
    if new:
        shown = ", ".join(
            f"{name.removesuffix('_per_mtok')} {_num(getattr(upstream.prices, name))}" for name in PRICE_FIELDS
        )
        report.limits.append(f"{key}: new entry, {shown}")
    for name in PRICE_FIELDS:
        before, after = getattr(old, name), getattr(upstream.prices, name)
        if not new and not _same(before, after):
            report.moves.append(PriceMove(key, name, before, after))
    if not new and old.tiers != upstream.prices.tiers:
        report.limits.append(f"{key}: long-prompt tiers {len(old.tiers)} -> {len(upstream.prices.tiers)}")
    if not new and entry.context_window != upstream.context_window:
        report.limits.append(f"{key}: context window {entry.context_window} -> {upstream.context_window}")
    if not new and entry.max_output_tokens != upstream.max_output_tokens:
        report.limits.append(f"{key}: max output {entry.max_output_tokens} -> {upstream.max_output_tokens}")
    kept = [name for name in entry.capabilities if name not in MAPPED_CAPABILITIES]
    wanted = {*kept, *(c for c in upstream.capabilities if c in MAPPED_CAPABILITIES)}
    capabilities = tuple(name for name in CAPABILITIES if name in wanted)
    if not new and set(entry.capabilities) != set(capabilities):
        report.limits.append(f"{key}: capabilities {sorted(entry.capabilities)} -> {sorted(capabilities)}")
    report.refreshed.append(key)
    return msgspec.structs.replace(
        entry,
        prices=upstream.prices,
        context_window=upstream.context_window,
        max_output_tokens=upstream.max_output_tokens,
        capabilities=capabilities,
        retires_on=upstream.retires_on,
        prices_as_of="",  # the manifest's date
    )


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _unlisted(data: dict[str, Any], listed: set[str], today: date) -> dict[str, list[str]]:
    entries, _ = entries_from_litellm(data)
    out: dict[str, list[str]] = {}
    for entry in entries:
        if entry.key in listed or (entry.retires_on and entry.retires_on <= today.isoformat()):
            continue
        if any(word in entry.model for word in _NOT_LISTED_WORTHY):
            continue
        out.setdefault(entry.provider, []).append(entry.model)
    return {provider: sorted(models) for provider, models in out.items()}


# The fields a refresh owns; everything else of an entry is ours and is written back byte for byte.
UPSTREAM_FIELDS = (
    "model",
    "prices",
    "context_window",
    "max_output_tokens",
    "capabilities",
    "retires_on",
    "prices_as_of",
    "notes",
)


def encode_manifest(manifest: Manifest, original: bytes | None = None, renamed: dict[str, str] | None = None) -> bytes:
    """The manifest file as shipped (one-space indent). With the `original` file, entries keep their own text
    for the fields a refresh does not own, so a refresh's diff shows only what it changed; `renamed` maps a
    replacement's key to the key of the entry it replaces."""
    base: dict[str, Any] = json.loads(original) if original else {}
    old_models = {f"{m.get('provider')}/{m.get('model')}": m for m in base.get("models", []) if isinstance(m, dict)}
    renamed = renamed or {}
    models: list[dict[str, Any]] = []
    for entry in manifest.models:
        fresh: dict[str, Any] = msgspec.to_builtins(entry)
        old = old_models.get(renamed.get(entry.key, entry.key))
        if old is None:
            models.append(fresh)
            continue
        merged = dict(old)
        for name in UPSTREAM_FIELDS:
            if name in fresh:
                merged[name] = fresh[name]
            else:
                merged.pop(name, None)
        models.append(merged)
    body = {**base, "version": manifest.version, "prices_as_of": manifest.prices_as_of, "source": manifest.source}
    body["models"] = models
    return (json.dumps(body, indent=1, ensure_ascii=False) + "\n").encode()
