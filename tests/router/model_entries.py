"""Small manifest entries for the selection and market-data tests."""

from __future__ import annotations

from typing import Any

import msgspec

from shared.pricing.manifest import Manifest, ModelEntry

ALL_CAPS = ("tools", "json_schema", "json_object", "vision", "streaming", "system_prompt")


def entry(provider: str = "p", model: str = "m", **fields: Any) -> ModelEntry:
    raw: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "regions": ["us-east"],
        "tier": "cheap",
        "prices": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
        "context_window": 128_000,
        "max_output_tokens": 8192,
        "capabilities": list(ALL_CAPS),
        "quality": {"chat": 0.8, "classification": 0.8, "extraction": 0.8, "formatting": 0.8},
        "residency": ["us"],
        "latency_p50_ms": 500.0,
        "latency_p95_ms": 1500.0,
    }
    raw.update(fields)
    return msgspec.convert(raw, ModelEntry)


def local_entry(**fields: Any) -> ModelEntry:
    base: dict[str, Any] = {
        "tier": "local",
        "prices": {"input_per_mtok": 0.0, "output_per_mtok": 0.0},
        "context_window": 2048,
        "max_output_tokens": 512,
        "capabilities": ["streaming", "system_prompt"],
        "quality": {"classification": 0.6, "extraction": 0.6, "formatting": 0.6},
        "regions": ["local"],
        "residency": ["local"],
        "latency_p50_ms": 100.0,
        "latency_p95_ms": 300.0,
    }
    base.update(fields)
    return entry("local", "smollm2-135m-instruct", **base)


def manifest(*entries: ModelEntry, as_of: str = "2025-07-01") -> Manifest:
    return Manifest(prices_as_of=as_of, models=tuple(entries))
