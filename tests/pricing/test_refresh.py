"""`bourse pricing refresh`: upstream prices, limits and retirement dates in, our fields kept, the diff printed."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from services.cli.__main__ import main as bourse_main
from services.cli.pricing_refresh import PEERS_FILE, download_wheel, pinned_litellm
from shared.config import ConfigError
from shared.pricing.manifest import load_manifest, parse_manifest
from shared.pricing.refresh import (
    WHEEL_MEMBER,
    Successor,
    encode_manifest,
    litellm_key,
    price_map_from_wheel,
    refresh_manifest,
)
from tests.router.model_entries import entry, local_entry, manifest

TODAY = date(2026, 12, 3)


def _item(provider: str, input_mtok: float, output_mtok: float, **extra: Any) -> dict[str, Any]:
    return {
        "litellm_provider": provider,
        "mode": "chat",
        "input_cost_per_token": input_mtok / 1e6,
        "output_cost_per_token": output_mtok / 1e6,
        "max_input_tokens": 200_000,
        "max_output_tokens": 16_000,
        "supports_function_calling": True,
        "supports_response_schema": True,
        **extra,
    }


PRICE_MAP: dict[str, Any] = {
    "sample_spec": {"note": "ignored"},
    # moves 0.15/0.6 -> 0.12/0.6 (-20% input), gains a cache price and a deprecation date within 90 days
    "gpt-mini": _item("openai", 0.12, 0.6, cache_read_input_token_cost=0.012e-6, deprecation_date="2027-01-14"),
    # retired: replaced by its successor, which the map lists
    "old-nano": _item("openai", 0.1, 0.4, deprecation_date="2026-10-23"),
    "new-nano": _item("openai", 0.05, 0.4),
    # the successor of a model the map no longer lists
    "claude-haiku-9": _item(
        "anthropic", 1.0, 5.0, cache_read_input_token_cost=0.1e-6, cache_creation_input_token_cost=1.25e-6
    ),
    # upstream but not listed by us
    "gpt-brand-new": _item("openai", 3.0, 12.0),
    "gpt-old-preview": _item("openai", 3.0, 12.0),
}


def _ours() -> tuple[Any, ...]:
    mini = entry(
        "openai",
        "gpt-mini",
        tier="cheap",
        prices={"input_per_mtok": 0.15, "output_per_mtok": 0.6},
        quality={"chat": 0.7},
        regions=["us-east", "eu-west"],
        residency=["us"],
        rate_limits={"rpm": 500, "tpm": 200_000},
    )
    nano = entry("openai", "old-nano", tier="cheap", quality={"chat": 0.6})
    haiku = entry("anthropic", "claude-3-haiku", tier="cheap", quality={"chat": 0.65})
    gone = entry("openrouter", "openai/gpt-4o-mini", prices={"input_per_mtok": 0.15, "output_per_mtok": 0.6})
    return mini, nano, haiku, gone, local_entry()


SUCCESSORS = {
    "openai/old-nano": Successor(model="new-nano", why="the current nano"),
    "anthropic/claude-3-haiku": Successor(model="claude-haiku-9", why="the current Haiku"),
}


def _refresh() -> tuple[Any, Any]:
    return refresh_manifest(
        manifest(*_ours()),
        PRICE_MAP,
        today=TODAY,
        as_of="2026-11-30",
        source="LiteLLM test map",
        successors=SUCCESSORS,
    )


def test_prices_limits_and_dates_come_from_the_map_and_our_fields_stay() -> None:
    refreshed, report = _refresh()
    by_key = {e.key: e for e in refreshed.models}
    mini = by_key["openai/gpt-mini"]
    assert (mini.prices.input_per_mtok, mini.prices.output_per_mtok, mini.prices.cached_input_per_mtok) == (
        0.12,
        0.6,
        0.012,
    )
    assert (mini.context_window, mini.max_output_tokens, mini.retires_on) == (200_000, 16_000, "2027-01-14")
    assert "json_schema" in mini.capabilities and "tools" in mini.capabilities
    original = _ours()[0]
    for name in ("tier", "quality", "regions", "residency", "rate_limits", "latency_p50_ms", "notes"):
        assert getattr(mini, name) == getattr(original, name), name
    assert refreshed.prices_as_of == "2026-11-30" and "LiteLLM test map" in refreshed.source
    assert by_key["local/smollm2-135m-instruct"] == _ours()[4]
    assert report.refreshed.count("openai/gpt-mini") == 1


def test_retired_and_missing_models_are_replaced_by_their_successors() -> None:
    refreshed, report = _refresh()
    keys = [e.key for e in refreshed.models]
    assert "openai/old-nano" not in keys and "anthropic/claude-3-haiku" not in keys
    nano = next(e for e in refreshed.models if e.key == "openai/new-nano")
    assert nano.quality == {"chat": 0.6} and nano.tier == "cheap"  # our fields carried over
    assert nano.prices.input_per_mtok == 0.05 and "replaces old-nano (retires 2026-10-23)" in nano.notes
    haiku = next(e for e in refreshed.models if e.key == "anthropic/claude-haiku-9")
    assert haiku.prices.cache_write_per_mtok == 1.25 and "not in the price map" in haiku.notes
    assert [(old, new) for old, new, _ in report.replaced] == [
        ("openai/old-nano", "openai/new-nano"),
        ("anthropic/claude-3-haiku", "anthropic/claude-haiku-9"),
    ]


def test_the_report_shows_moves_dropped_unlisted_and_retiring_models() -> None:
    refreshed, report = _refresh()
    text = "\n".join(report.lines())
    assert "openai/gpt-mini input_per_mtok: 0.15 -> 0.12 (-20.0%)" in text
    assert "openai/gpt-mini cached_input_per_mtok: - -> 0.012 (new)" in text
    assert report.dropped == ["openrouter/openai/gpt-4o-mini"]
    # kept with its own (old) date, so its age stays visible
    gone = next(e for e in refreshed.models if e.provider == "openrouter")
    assert gone.prices_as_of == "2025-07-01"
    assert report.unlisted == {"openai": ["gpt-brand-new"]}  # previews are left out
    assert report.retiring == [("openai/gpt-mini", "2027-01-14")]
    assert "retiring soon:\n  openai/gpt-mini on 2027-01-14" in text


def test_without_successors_retired_models_stay_and_are_reported() -> None:
    _, report = refresh_manifest(
        manifest(*_ours()), PRICE_MAP, today=TODAY, as_of="2026-11-30", source="map", successors={}
    )
    assert report.retired == [("openai/old-nano", "2026-10-23")]
    assert "anthropic/claude-3-haiku" in report.dropped
    assert not report.replaced


def test_key_table_and_default_rule() -> None:
    data = {"gemini/gemini-x": _item("gemini", 1, 2), "gemini-x": _item("vertex_ai-language-models", 1, 2)}
    assert litellm_key("gemini", "gemini-x", data) == "gemini/gemini-x"  # the bare key is another provider's
    assert litellm_key("openai", "gpt-mini", PRICE_MAP) == "gpt-mini"
    assert litellm_key("nobody", "x", PRICE_MAP) is None
    # an id that parted ways with LiteLLM's key is found through the table
    renamed = {"openai/gpt-mini-2026": "gpt-mini"}
    assert litellm_key("openai", "gpt-mini-2026", PRICE_MAP) is None
    assert litellm_key("openai", "gpt-mini-2026", PRICE_MAP, renamed) == "gpt-mini"


def test_encoding_keeps_the_text_of_fields_a_refresh_does_not_own(tmp_path: Path) -> None:
    raw = encode_manifest(manifest(*_ours()))
    original = json.loads(raw)
    original["models"][4]["latency_p50_ms"] = 100  # an integer, as people write them
    original_bytes = json.dumps(original, indent=1).encode()
    refreshed, report = refresh_manifest(
        parse_manifest(original_bytes), PRICE_MAP, today=TODAY, as_of="2026-11-30", source="map", successors=SUCCESSORS
    )
    out = json.loads(encode_manifest(refreshed, original_bytes, {new: old for old, new, _ in report.replaced}))
    assert out["models"][4] == original["models"][4]  # the local entry, untouched to the number
    assert out["version"] == 1 and out["prices_as_of"] == "2026-11-30"
    parse_manifest(json.dumps(out))


def _wheel(tmp_path: Path, member: str = WHEEL_MEMBER) -> Path:
    path = tmp_path / "litellm-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(zipfile.ZipInfo(member, date_time=(2026, 11, 28, 0, 0, 0)), json.dumps(PRICE_MAP))
    return path


def test_the_map_is_read_from_the_wheel_without_importing_it(tmp_path: Path) -> None:
    data, packed = price_map_from_wheel(_wheel(tmp_path))
    assert data == PRICE_MAP and packed == "2026-11-28"
    with pytest.raises(ConfigError, match=r"model_prices_and_context_window_backup\.json"):
        price_map_from_wheel(_wheel(tmp_path, member="litellm/other.json"))


def test_the_pinned_version_and_a_cached_wheel(tmp_path: Path) -> None:
    version, hashes = pinned_litellm(PEERS_FILE)
    assert version.count(".") == 2 and hashes and all(h.startswith("sha256:") for h in hashes)
    wheel = tmp_path / "litellm-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    digest = f"sha256:{hashlib.sha256(b'a wheel').hexdigest()}"
    assert download_wheel("9.9.9", [digest], tmp_path) == wheel  # intact in the cache: no download
    bad = tmp_path / "peers.txt"
    bad.write_text("# nothing pinned\n")
    with pytest.raises(ConfigError, match="pins no litellm version"):
        pinned_litellm(bad)


def _write(tmp_path: Path) -> tuple[Path, Path]:
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_bytes(encode_manifest(manifest(*_ours())))
    map_path = tmp_path / "map.json"
    map_path.write_text(json.dumps(PRICE_MAP))
    return manifest_path, map_path


def test_cli_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest_path, map_path = _write(tmp_path)
    before = manifest_path.read_bytes()
    args = ["pricing", "refresh", "--map", str(map_path), "--manifest", str(manifest_path), "--today", "2026-12-03"]
    assert bourse_main([*args, "--dry-run", "--no-replace"]) == 0
    out = capsys.readouterr().out
    assert "openai/gpt-mini input_per_mtok: 0.15 -> 0.12 (-20.0%)" in out and "dry run: nothing written" in out
    assert "past their retirement date" in out and "openai/old-nano retired on 2026-10-23" in out
    assert manifest_path.read_bytes() == before


def test_cli_writes_a_valid_refreshed_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest_path, map_path = _write(tmp_path)
    out_path = tmp_path / "out.json"
    args = ["pricing", "refresh", "--map", str(map_path), "--manifest", str(manifest_path), "--output", str(out_path)]
    successors = tmp_path / "successors.json"
    successors.write_bytes(msgspec.json.encode(SUCCESSORS))
    assert bourse_main([*args, "--today", "2026-12-03", "--as-of", "2026-11-30", "--successors", str(successors)]) == 0
    refreshed = load_manifest(out_path)
    assert refreshed.prices_as_of == "2026-11-30"
    assert {e.key for e in refreshed.models} >= {"openai/new-nano", "anthropic/claude-haiku-9"}
    assert f"wrote {out_path}" in capsys.readouterr().out


def test_cli_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest_path, _ = _write(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert bourse_main(["pricing", "refresh", "--map", str(bad), "--manifest", str(manifest_path), "--dry-run"]) == 1
    assert "is not valid JSON" in capsys.readouterr().err
    args = ["pricing", "refresh", "--map", str(tmp_path / "none.json"), "--manifest", str(manifest_path)]
    assert bourse_main(args) == 1
    assert "cannot read price map" in capsys.readouterr().err
    assert bourse_main([*args[:4], "--manifest", str(manifest_path), "--today", "soon"]) == 1
    assert "soon" in capsys.readouterr().err
