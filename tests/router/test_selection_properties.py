"""Property: the chosen model satisfies every constraint and is the cheapest qualified one.

The oracle below restates each rule of the issue independently of the selector's code (exact decimal costs,
plain set logic) and is checked against random manifests, profiles and availability.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.router.core.selection.estimate import DEFAULT_COMPLETION_TOKENS, TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import (
    LOCAL_MAX_COMPLETION_TOKENS,
    LOCAL_MIN_QUALITY,
    LOCAL_TASK_KINDS,
    Selector,
)
from shared.pricing.manifest import TIER_VALUES, ModelEntry
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import manifest

pytestmark = pytest.mark.slow  # hypothesis builds hundreds of manifests: about 30 s of CPU

PROVIDERS = ["openai", "mistral", "deepseek", "local"]
REGIONS = ["us-east", "eu-west", "cn"]
TAGS = ["us", "eu", "cn"]
CAPS = ["tools", "json_schema", "json_object", "vision", "streaming", "system_prompt"]
TASKS = ["chat", "classification", "extraction", "code"]
prices = st.decimals(min_value=0, max_value=20, places=3)


@st.composite
def entries(draw: st.DrawFn, max_count: int = 10) -> list[ModelEntry]:
    count = draw(st.integers(1 if max_count <= 10 else 30, max_count))
    out: list[ModelEntry] = []
    for index in range(count):
        provider = draw(st.sampled_from(PROVIDERS))
        local = provider == "local"
        context = draw(st.integers(512, 200_000))
        p50 = draw(st.floats(50, 5000))
        out.append(
            msgspec.convert(
                {
                    "provider": provider,
                    "model": f"m{index % 10}" if max_count <= 10 else f"m{index}",
                    "regions": draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True)),
                    "tier": "local" if local else draw(st.sampled_from(["cheap", "standard", "frontier"])),
                    "prices": {"input_per_mtok": float(draw(prices)), "output_per_mtok": float(draw(prices))},
                    "context_window": context,
                    "max_output_tokens": draw(st.integers(1, context)),
                    "capabilities": draw(st.lists(st.sampled_from(CAPS), unique=True)),
                    "quality": draw(st.dictionaries(st.sampled_from(TASKS), st.floats(0, 1))),
                    "residency": draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2)),
                    "latency_p50_ms": p50,
                    "latency_p95_ms": p50 * draw(st.floats(1, 5)),
                },
                ModelEntry,
            )
        )
    return out


@st.composite
def profiles(draw: st.DrawFn) -> RequestProfile:
    names = [f"m{i}" for i in range(10)]
    return RequestProfile(
        task_kind=draw(st.sampled_from(TASKS)),
        estimated_prompt_tokens=draw(st.integers(1, 50_000)),
        max_tokens=draw(st.none() | st.integers(1, 20_000)),
        capabilities=frozenset(draw(st.lists(st.sampled_from(CAPS), max_size=2))),
        max_cost_micro_usd=draw(st.sampled_from([0, 100, 10_000, 1_000_000])),
        latency_budget_ms=draw(st.sampled_from([0, 500, 3000])),
        min_tier=draw(st.integers(0, 4)),
        min_quality=draw(st.sampled_from([0.0, 0.3, 0.7])),
        allowed_models=frozenset(draw(st.lists(st.sampled_from(names), max_size=4))),
        denied_models=frozenset(draw(st.lists(st.sampled_from(names), max_size=2))),
        allowed_providers=frozenset(draw(st.lists(st.sampled_from(PROVIDERS), max_size=2))),
        denied_providers=frozenset(draw(st.lists(st.sampled_from(PROVIDERS), max_size=1))),
        regions=frozenset(draw(st.lists(st.sampled_from(REGIONS), max_size=2))),
        residency_tags=frozenset(draw(st.lists(st.sampled_from(TAGS), max_size=1))),
        background=draw(st.booleans()),
        include_local=draw(st.booleans()),
    )


class Blocked:
    def __init__(self, keys: set[str]) -> None:
        self.keys = keys

    def unavailable_reason(self, provider: str, model: str, now: float) -> str | None:
        return "circuit_open" if f"{provider}/{model}" in self.keys else None


def expected_cost(entry: ModelEntry, prompt: int, completion: int) -> int:
    exact = Decimal(str(entry.prices.input_per_mtok)) * prompt + Decimal(str(entry.prices.output_per_mtok)) * completion
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def completion_for(entry: ModelEntry, profile: RequestProfile) -> int:
    default = DEFAULT_COMPLETION_TOKENS[profile.task_kind]
    return min(default, profile.max_tokens) if profile.max_tokens else default


def qualifies(entry: ModelEntry, profile: RequestProfile, blocked: set[str]) -> bool:
    """Every rule of the issue, restated."""
    completion = completion_for(entry, profile)
    if entry.provider == "local" and (
        not profile.include_local
        or profile.task_kind not in LOCAL_TASK_KINDS
        or completion > LOCAL_MAX_COMPLETION_TOKENS
        or dict(entry.quality).get(profile.task_kind, 0.0) < LOCAL_MIN_QUALITY
    ):
        return False
    named = {entry.key, entry.model}
    regions = [r for r in entry.regions if not profile.regions or r in profile.regions]
    checks = [
        not profile.allowed_providers or entry.provider in profile.allowed_providers,
        entry.provider not in profile.denied_providers,
        not profile.allowed_models or bool(named & profile.allowed_models),
        not named & profile.denied_models,
        profile.capabilities <= set(entry.capabilities),
        profile.max_tokens is None or profile.max_tokens <= entry.max_output_tokens,
        profile.estimated_prompt_tokens + (profile.max_tokens or completion) <= entry.context_window,
        bool(regions),
        profile.residency_tags <= set(entry.residency),
        TIER_VALUES[entry.tier] >= profile.min_tier,
        profile.min_quality == 0 or dict(entry.quality).get(profile.task_kind, 0.0) >= profile.min_quality,
        entry.key not in blocked,
        profile.background or not profile.latency_budget_ms or entry.latency_p95_ms <= profile.latency_budget_ms,
        not profile.max_cost_micro_usd
        or expected_cost(entry, profile.estimated_prompt_tokens, completion) <= profile.max_cost_micro_usd,
    ]
    return all(checks)


BLOCKABLE = st.sets(st.sampled_from([f"{p}/m{i}" for p in PROVIDERS for i in range(10)]))


@settings(max_examples=150, deadline=None)
@given(entries(), profiles(), BLOCKABLE)
def test_chosen_model_satisfies_every_constraint_and_is_the_cheapest(
    models: list[ModelEntry], profile: RequestProfile, blocked: set[str]
) -> None:
    check_selection(models, profile, blocked)


@st.composite
def loose_profiles(draw: st.DrawFn) -> RequestProfile:
    """Few constraints, so that many models qualify."""
    return RequestProfile(
        task_kind=draw(st.sampled_from(TASKS)),
        estimated_prompt_tokens=draw(st.integers(1, 20_000)),
        max_tokens=draw(st.none() | st.integers(1, 500)),
        max_cost_micro_usd=draw(st.sampled_from([0, 0, 100_000])),
        latency_budget_ms=draw(st.sampled_from([0, 0, 8000])),
        denied_models=frozenset(draw(st.lists(st.sampled_from([f"m{i}" for i in range(90)]), max_size=5))),
        background=draw(st.booleans()),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # big manifests by design
@given(entries(max_count=90), loose_profiles(), BLOCKABLE)
def test_large_manifests_walk_the_cost_order_exactly(
    models: list[ModelEntry], profile: RequestProfile, blocked: set[str]
) -> None:
    """Enough qualified models that a limited selection walks the precomputed cost orders and stops early."""
    check_selection(models, profile, blocked)


def check_selection(models: list[ModelEntry], profile: RequestProfile, blocked: set[str]) -> None:
    unique = list({entry.key: entry for entry in models}.values())
    book = PriceBook.from_manifest(manifest(*unique))
    selector = Selector(book, LiveStats(book), TokenEstimator(), Blocked(blocked))
    selection = selector.select(profile, now=0.0)

    qualified = {entry.key for entry in unique if entry.provider != "local" and qualifies(entry, profile, blocked)}
    assert {c.key for c in selection.candidates} == qualified
    costs = {
        entry.key: expected_cost(entry, profile.estimated_prompt_tokens, completion_for(entry, profile))
        for entry in unique
    }
    for candidate in selection.candidates:
        assert candidate.estimated_cost_micro_usd == costs[candidate.key]
        assert not profile.regions or candidate.region in profile.regions
    ranked = [c.estimated_cost_micro_usd for c in selection.candidates]
    assert ranked == sorted(ranked)
    if selection.candidates:
        assert selection.candidates[0].estimated_cost_micro_usd == min(costs[key] for key in qualified)
    else:
        assert selection.last_constraint() != "" or not [e for e in unique if e.provider != "local"]
    # A limited selection returns the same models in the same order as the head of the full ranking.
    for limit in (1, 3):
        top = selector.select(profile, now=0.0, limit=limit)
        assert [c.key for c in top.candidates] == [c.key for c in selection.candidates][:limit]
        assert (top.local is None) == (selection.local is None)
    # Every model is either a candidate, a qualified local model, or rejected with a reason.
    local_keys = {selection.local.key} if selection.local else set()
    locals_ok = {e.key for e in unique if e.provider == "local" and qualifies(e, profile, blocked)}
    assert local_keys <= locals_ok and (not locals_ok or local_keys)
    rejected = {f"{r.provider}/{r.model}" for r in selection.rejections}
    assert qualified | locals_ok | rejected == {entry.key for entry in unique}
    assert not rejected & (qualified | locals_ok)
