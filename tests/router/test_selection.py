"""One test per selection rule: each filter names itself when it removes a model, and the ranking is by cost."""

from __future__ import annotations

import msgspec
import pytest
from bourse.common.v1 import routing_pb2

from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import AlwaysAvailable, Selection, Selector
from shared.events.schemas import AttemptRecord, PriceUpdate, TelemetryEvent
from shared.pricing.manifest import ModelEntry
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import entry, local_entry, manifest


class BlockedModels:
    """Availability with fixed reasons per model (the real one tracks circuits and Retry-After)."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons

    def unavailable_reason(self, provider: str, model: str, now: float) -> str | None:
        return self.reasons.get(f"{provider}/{model}")


def _selector(*entries: ModelEntry, availability: object = None) -> tuple[Selector, PriceBook, LiveStats]:
    book = PriceBook.from_manifest(manifest(*entries))
    stats = LiveStats(book)
    selector = Selector(book, stats, TokenEstimator(), availability or AlwaysAvailable())  # type: ignore[arg-type]
    return selector, book, stats


def _profile(**fields: object) -> RequestProfile:
    fields.setdefault("estimated_prompt_tokens", 1000)
    return msgspec.convert(fields, RequestProfile)


def _keys(selection: Selection) -> list[str]:
    return [candidate.key for candidate in selection.candidates]


def _rejected(selection: Selection) -> dict[str, str]:
    return {f"{r.provider}/{r.model}": r.constraint for r in selection.rejections}


def _priced(provider: str, model: str, inp: float, out: float, **fields: object) -> ModelEntry:
    return entry(provider, model, prices={"input_per_mtok": inp, "output_per_mtok": out}, **fields)


def test_ranks_by_expected_cost_with_exact_estimates() -> None:
    selector, _, _ = _selector(
        _priced("a", "dear", 3.0, 15.0), _priced("b", "cheap", 0.15, 0.6), _priced("c", "mid", 0.4, 1.6)
    )
    selection = selector.select(_profile(max_tokens=100), now=0)
    assert _keys(selection) == ["b/cheap", "c/mid", "a/dear"]
    first = selection.candidates[0]
    assert first.expected_completion_tokens == 100
    assert first.estimated_cost_micro_usd == 150 + 60  # 1000 x 0.15 + 100 x 0.6
    assert selection.estimated_prompt_tokens == 1000 and selection.local is None


def test_output_heavy_requests_rank_by_output_price() -> None:
    selector, _, _ = _selector(_priced("a", "cheap-in", 0.1, 10.0), _priced("b", "cheap-out", 1.0, 1.0))
    assert _keys(selector.select(_profile(estimated_prompt_tokens=10, max_tokens=2000), now=0))[0] == "b/cheap-out"
    assert _keys(selector.select(_profile(estimated_prompt_tokens=50_000, max_tokens=10), now=0))[0] == "a/cheap-in"


def test_ties_are_broken_by_latency() -> None:
    selector, _, _ = _selector(
        _priced("a", "slow", 1.0, 1.0, latency_p50_ms=900.0, latency_p95_ms=2000.0),
        _priced("b", "fast", 1.0, 1.0, latency_p50_ms=300.0, latency_p95_ms=2000.0),
    )
    assert _keys(selector.select(_profile(), now=0)) == ["b/fast", "a/slow"]


def test_capability_filter() -> None:
    selector, _, _ = _selector(
        _priced("a", "text", 0.1, 0.1, capabilities=["streaming"]), _priced("b", "tools", 1.0, 1.0)
    )
    selection = selector.select(_profile(capabilities=frozenset({"tools", "streaming"})), now=0)
    assert _keys(selection) == ["b/tools"] and _rejected(selection) == {"a/text": "capability"}


def test_context_window_counts_prompt_plus_output() -> None:
    selector, _, _ = _selector(
        _priced("a", "small", 0.1, 0.1, context_window=4096, max_output_tokens=2048), _priced("b", "big", 1.0, 1.0)
    )
    assert _keys(selector.select(_profile(estimated_prompt_tokens=3000, max_tokens=1000), now=0))[0] == "a/small"
    selection = selector.select(_profile(estimated_prompt_tokens=3500, max_tokens=1000), now=0)
    assert _rejected(selection) == {"a/small": "context_window"}


def test_max_output_filter() -> None:
    selector, _, _ = _selector(_priced("a", "short", 0.1, 0.1, max_output_tokens=4096), _priced("b", "long", 1, 1))
    selection = selector.select(_profile(max_tokens=8000), now=0)
    assert _rejected(selection) == {"a/short": "max_output"}


def test_region_and_residency_filters() -> None:
    selector, _, _ = _selector(
        _priced("openai", "us", 0.1, 0.1),
        _priced("mistral", "eu", 1.0, 1.0, regions=["eu-west"], residency=["eu"]),
    )
    selection = selector.select(_profile(regions=frozenset({"eu-west"})), now=0)
    assert _keys(selection) == ["mistral/eu"] and _rejected(selection) == {"openai/us": "region"}
    assert selection.candidates[0].region == "eu-west"
    selection = selector.select(_profile(residency_tags=frozenset({"eu"})), now=0)
    assert _keys(selection) == ["mistral/eu"] and _rejected(selection) == {"openai/us": "residency"}


def test_allow_and_deny_lists_by_key_bare_model_and_provider() -> None:
    models = (_priced("a", "x", 0.1, 0.1), _priced("b", "x", 0.2, 0.2), _priced("b", "y", 0.3, 0.3))
    selector, _, _ = _selector(*models)
    assert _keys(selector.select(_profile(allowed_models=frozenset({"x"})), now=0)) == ["a/x", "b/x"]
    assert _keys(selector.select(_profile(allowed_models=frozenset({"b/x"})), now=0)) == ["b/x"]
    assert _keys(selector.select(_profile(denied_models=frozenset({"x"})), now=0)) == ["b/y"]
    assert _keys(selector.select(_profile(allowed_providers=frozenset({"b"})), now=0)) == ["b/x", "b/y"]
    selection = selector.select(_profile(denied_providers=frozenset({"b"})), now=0)
    assert _keys(selection) == ["a/x"]
    assert _rejected(selection) == {"b/x": "denied_providers", "b/y": "denied_providers"}
    selection = selector.select(_profile(allowed_models=frozenset({"nope"})), now=0)
    assert selection.candidates == () and selection.last_constraint() == "allowed_models"


def test_min_tier_and_min_quality() -> None:
    selector, _, _ = _selector(
        _priced("a", "cheap", 0.1, 0.1, tier="cheap", quality={"code": 0.5}),
        _priced("b", "frontier", 3.0, 15.0, tier="frontier", quality={"code": 0.9}),
    )
    selection = selector.select(_profile(min_tier=routing_pb2.MODEL_TIER_STANDARD), now=0)
    assert _keys(selection) == ["b/frontier"] and _rejected(selection) == {"a/cheap": "min_tier"}
    selection = selector.select(_profile(task_kind="code", min_quality=0.8), now=0)
    assert _keys(selection) == ["b/frontier"] and _rejected(selection) == {"a/cheap": "min_quality"}
    # No score for the task kind: the model cannot pass a quality bound.
    selection = selector.select(_profile(task_kind="reasoning", min_quality=0.1), now=0)
    assert selection.candidates == () and selection.last_constraint() == "min_quality"


@pytest.mark.parametrize("reason", ["circuit_open", "retry_after", "rate_limit_headroom"])
def test_unavailable_models_are_skipped_with_the_reason(reason: str) -> None:
    selector, _, _ = _selector(
        _priced("a", "cheap", 0.1, 0.1), _priced("b", "dear", 1.0, 1.0), availability=BlockedModels({"a/cheap": reason})
    )
    selection = selector.select(_profile(), now=0)
    assert _keys(selection) == ["b/dear"] and _rejected(selection) == {"a/cheap": reason}


def test_latency_budget_filters_on_p95_and_prefers_fitting_models() -> None:
    selector, _, _ = _selector(
        _priced("a", "cheap-slow", 0.1, 0.1, latency_p50_ms=800.0, latency_p95_ms=6000.0),
        _priced("b", "fast", 1.0, 1.0, latency_p50_ms=200.0, latency_p95_ms=900.0),
    )
    selection = selector.select(_profile(latency_budget_ms=1000), now=0)
    assert _keys(selection) == ["b/fast"] and _rejected(selection) == {"a/cheap-slow": "latency_budget"}
    # Background work takes the absolute cheapest and ignores latency.
    assert _keys(selector.select(_profile(latency_budget_ms=1000, background=True), now=0))[0] == "a/cheap-slow"


def test_live_latency_replaces_manifest_defaults() -> None:
    selector, _, stats = _selector(
        _priced("a", "m", 0.1, 0.1, latency_p50_ms=200.0, latency_p95_ms=500.0),
        _priced("b", "n", 1.0, 1.0, latency_p50_ms=300.0, latency_p95_ms=900.0),
    )
    assert _keys(selector.select(_profile(latency_budget_ms=1000), now=0)) == ["a/m", "b/n"]
    for index in range(20):
        stats.observe(
            TelemetryEvent(
                request_id=str(index),
                ts_ms=1_000_000 + index,
                tenant="t",
                task_kind="chat",
                provider="a",
                model="m",
                served_from="remote",
                attempts=[
                    AttemptRecord(provider="a", model="m", served_from="remote", outcome="success", latency_ms=4000.0)
                ],
            )
        )
    selection = selector.select(_profile(latency_budget_ms=1000), now=0)
    assert _keys(selection) == ["b/n"] and _rejected(selection) == {"a/m": "latency_budget"}


def test_max_cost_filter_and_last_constraint() -> None:
    selector, _, _ = _selector(_priced("a", "m", 1.0, 1.0), _priced("b", "n", 10.0, 10.0))
    selection = selector.select(_profile(max_tokens=100, max_cost_micro_usd=1100), now=0)
    assert _keys(selection) == ["a/m"] and _rejected(selection) == {"b/n": "max_cost"}
    selection = selector.select(_profile(max_tokens=100, max_cost_micro_usd=50), now=0)
    assert selection.candidates == () and selection.last_constraint() == "max_cost"


def test_last_constraint_is_the_filter_that_removed_the_last_candidate() -> None:
    selector, _, _ = _selector(
        _priced("a", "m", 1.0, 1.0, capabilities=["streaming"]), _priced("b", "n", 1.0, 1.0, residency=["us"])
    )
    # a goes at "capability", b survives until "residency": the last one removed names the error.
    selection = selector.select(_profile(capabilities=frozenset({"tools"}), residency_tags=frozenset({"eu"})), now=0)
    assert _rejected(selection) == {"a/m": "capability", "b/n": "residency"}
    assert selection.last_constraint() == "residency"
    assert selector.select(_profile(), now=0).last_constraint() == ""


def test_local_tier_for_trivial_short_tasks_only() -> None:
    book = PriceBook.from_manifest(manifest(local_entry(), _priced("a", "m", 0.1, 0.1)))
    estimator = TokenEstimator()
    selector = Selector(book, LiveStats(book), estimator, AlwaysAvailable())
    selection = selector.select(_profile(task_kind="classification", estimated_prompt_tokens=200), now=0)
    assert selection.local is not None and selection.local.model == "smollm2-135m-instruct"
    assert selection.local.estimated_cost_micro_usd == 0
    assert _keys(selection) == ["a/m"]  # never a remote candidate
    for profile, detail in [
        (_profile(task_kind="chat", estimated_prompt_tokens=200), "task kind"),
        (_profile(task_kind="classification", estimated_prompt_tokens=200, include_local=False), "no local"),
    ]:
        selection = selector.select(profile, now=0)
        assert selection.local is None
        rejection = next(r for r in selection.rejections if r.provider == "local")
        assert rejection.constraint == "local_tier" and detail in rejection.detail
    # Answers observed to be long for a task kind take it off the local tier.
    for index in range(10):
        estimator.observe(
            TelemetryEvent(
                request_id=str(index),
                ts_ms=index,
                tenant="t",
                task_kind="formatting",
                provider="a",
                model="m",
                served_from="remote",
                completion_tokens=600,
            )
        )
    selection = selector.select(_profile(task_kind="formatting", estimated_prompt_tokens=200), now=0)
    assert selection.local is None
    assert any(r.constraint == "local_tier" and "too long" in r.detail for r in selection.rejections)
    # Other constraints apply to the local model too: a long prompt does not fit its 2048-token window.
    selection = selector.select(_profile(task_kind="extraction", estimated_prompt_tokens=2000), now=0)
    assert selection.local is None and _rejected(selection)["local/smollm2-135m-instruct"] == "context_window"
    # The local tier never decides the FAILED_PRECONDITION constraint.
    selection = selector.select(_profile(task_kind="classification", allowed_providers=frozenset({"zz"})), now=0)
    assert selection.last_constraint() == "allowed_providers"


def test_a_price_update_reorders_the_next_selection() -> None:
    selector, book, _ = _selector(_priced("a", "m", 1.0, 1.0), _priced("b", "n", 2.0, 2.0))
    assert _keys(selector.select(_profile(), now=0))[0] == "a/m"
    book.apply(PriceUpdate(provider="b", model="n", input_per_mtok=0.5, output_per_mtok=0.5))
    assert _keys(selector.select(_profile(), now=0))[0] == "b/n"


def test_limit_returns_the_cheapest_prefix_of_the_full_ranking() -> None:
    models = [_priced(f"p{i % 7}", f"m{i}", 0.1 + (i * 37 % 50) / 10, 0.2 + (i * 11 % 40) / 5) for i in range(120)]
    selector, _, _ = _selector(*models)
    for profile in (
        _profile(),
        _profile(estimated_prompt_tokens=20, max_tokens=4000),
        _profile(denied_models=frozenset({"m5", "m9"}), capabilities=frozenset({"tools"})),
        _profile(allowed_providers=frozenset({"p3"})),  # few enough to evaluate all directly
    ):
        full = selector.select(profile, now=0)
        top = selector.select(profile, now=0, limit=3)
        assert _keys(top) == _keys(full)[:3]
        assert set(_rejected(top).items()) <= set(_rejected(full).items())


def test_limited_selection_with_no_candidate_reports_every_rejection() -> None:
    selector, _, _ = _selector(*(_priced("p", f"m{i}", 1.0 + i, 1.0 + i) for i in range(40)))
    selection = selector.select(_profile(max_tokens=100, max_cost_micro_usd=10), now=0, limit=3)
    assert selection.candidates == () and len(selection.rejections) == 40
    assert selection.last_constraint() == "max_cost"


def test_observed_completion_lengths_drive_the_estimate() -> None:
    estimator = TokenEstimator()
    book = PriceBook.from_manifest(manifest(_priced("a", "verbose", 0.1, 10.0), _priced("b", "terse", 1.0, 1.0)))
    selector = Selector(book, LiveStats(book), estimator, AlwaysAvailable())
    # Without data both expect the chat default; a cheap-input model with dear output loses to the flat one.
    assert _keys(selector.select(_profile(estimated_prompt_tokens=100), now=0))[0] == "b/terse"
    for index in range(30):
        estimator.observe(
            TelemetryEvent(
                request_id=str(index),
                ts_ms=index,
                tenant="t",
                task_kind="chat",
                provider="a",
                model="verbose",
                served_from="remote",
                prompt_tokens=100,
                estimated_prompt_tokens=100,
                completion_tokens=5,
            )
        )
    selection = selector.select(_profile(estimated_prompt_tokens=100), now=0)
    assert selection.candidates[0].key == "a/verbose" and selection.candidates[0].expected_completion_tokens == 5
