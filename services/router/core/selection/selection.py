"""Choose the models qualified for a request and rank them by expected cost.

Every model goes through the same filters, in a fixed order; the first one it fails is recorded as its
rejection. Qualified remote models are ranked by expected cost (estimated prompt tokens x input price +
expected completion tokens x output price, exact integers), ties broken by latency (P50, or P95 under a latency
budget); background requests take the absolute cheapest, ignoring latency. The local tier is never a remote
candidate: it is returned apart, in `Selection.local`, when it qualifies.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection_index import Row, SelectionIndex
from shared.pricing.cost import UNITS_PER_MICRO_USD, estimate_units, round_units
from shared.pricing.manifest import ModelEntry
from shared.pricing.price_age import SECONDS_PER_DAY
from shared.pricing.price_table import PriceBook, PriceTable

# Filters in the order they are applied; a model's rejection names the first one it fails.
CONSTRAINT_ORDER: tuple[str, ...] = (
    "local_tier",
    "allowed_providers",
    "denied_providers",
    "allowed_models",
    "denied_models",
    "retired",
    "capability",
    "max_output",
    "context_window",
    "region",
    "residency",
    "min_tier",
    "min_quality",
    "circuit_open",
    "retry_after",
    "rate_limit_headroom",
    "latency_budget",
    "max_cost",
    "quality_target",
)
_STAGE = {name: index for index, name in enumerate(CONSTRAINT_ORDER)}
_RETIRED_STAGE = _STAGE["retired"]
# Task kinds the local tier may answer, and the longest answer it is trusted with.
LOCAL_TASK_KINDS = frozenset({"classification", "extraction", "formatting"})
LOCAL_MAX_COMPLETION_TOKENS = 256
# The local model is tried only where its measured quality makes a valid answer more likely than not: a
# failed local attempt costs its latency before the request escalates.
LOCAL_MIN_QUALITY = 0.5


class Availability(Protocol):
    def unavailable_reason(self, provider: str, model: str, now: float) -> str | None:
        """None, or a constraint name: "circuit_open", "retry_after", "rate_limit_headroom"."""
        ...


class QualityGate(Protocol):
    def probability(self, tenant: str, task_kind: str, model_key: str, prior: float, difficulty: float) -> float:
        """The chance the model answers this request acceptably (services/router/core/quality)."""
        ...

    def required_prior(self, target: float, difficulty: float) -> float:
        """The lowest prior that can meet `target` for a model without evidence (a pre-filter, never tighter)."""
        ...

    def keys_with_evidence(self, tenant: str, task_kind: str) -> frozenset[str]:
        """Models with outcome evidence for this tenant and task kind (their estimate is not their prior's)."""
        ...


class AlwaysAvailable:
    """Availability when no circuit breaker or rate-limit state is kept (Explain in tests, benchmarks)."""

    def unavailable_reason(self, provider: str, model: str, now: float) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: ModelEntry
    region: str
    estimated_cost_micro_usd: int
    expected_completion_tokens: int
    p50_ms: float
    p95_ms: float

    @property
    def provider(self) -> str:
        return self.entry.provider

    @property
    def model(self) -> str:
        return self.entry.model

    @property
    def tier(self) -> str:
        return self.entry.tier

    @property
    def key(self) -> str:
        return self.entry.key


@dataclass(frozen=True, slots=True)
class Rejection:
    provider: str
    model: str
    constraint: str
    detail: str


@dataclass(frozen=True, slots=True)
class Selection:
    candidates: tuple[Candidate, ...]
    rejections: tuple[Rejection, ...]
    estimated_prompt_tokens: int
    local: Candidate | None

    def last_constraint(self) -> str:
        """The constraint that removed the last remote candidate ("" when some remain or none were listed)."""
        if self.candidates:
            return ""
        stages = [
            (_STAGE.get(rejection.constraint, -1), rejection.constraint)
            for rejection in self.rejections
            if rejection.provider != "local"
        ]
        return max(stages)[1] if stages else ""


def quality_for(entry: ModelEntry, task_kind: str) -> float:
    """The manifest's quality score of `entry` for a task kind (0 when the manifest gives none)."""
    scores: dict[str, float] = dict(entry.quality.items())
    return scores.get(task_kind, 0.0)


_Ranked = tuple[int, float, str, Candidate]
_MASK_CACHE_SIZE = 4096
# Below this many statically qualified models, evaluate them all instead of walking a cost order.
_SMALL_SET = 24


class Selector:
    def __init__(
        self,
        book: PriceBook,
        stats: LiveStats,
        estimator: TokenEstimator,
        availability: Availability,
        quality: QualityGate | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._quality = quality
        self._book = book
        self._clock = clock  # seconds since the epoch: which models are past their retirement date
        self._retired_day = -1
        self._retired_index: SelectionIndex | None = None
        self._retired = 0  # bit set of the rows past their retirement date
        self._stats = stats
        self._estimator = estimator
        self._availability = availability
        self._index = SelectionIndex(book.current, None)
        self._masks: dict[tuple[object, ...], int] = {}
        book.on_swap(self._reindex)

    def _reindex(self, table: PriceTable) -> None:
        self._index = SelectionIndex(table, self._index)
        self._masks = {}

    def _index_for(self, table: PriceTable) -> SelectionIndex:
        if self._index.table is not table:
            self._reindex(table)
        return self._index

    def select(self, profile: RequestProfile, *, now: float, limit: int | None = None) -> Selection:
        """Qualified remote candidates ranked cheapest first, rejections, and the local tier if it qualifies.

        Without `limit` (Explain) every model is examined and every rejection listed. With `limit` only the
        `limit` cheapest candidates are returned and only the models examined on the way appear in
        `rejections`; when nothing qualifies the full examination runs, so `last_constraint()` is exact.
        """
        index = self._index_for(self._book.current)
        self._update_retired(index)
        if limit is not None:
            selection = self._select_top(index, profile, now, max(limit, 1))
            if selection.candidates:
                return selection
        return self._select_all(index, profile, now)

    def _update_retired(self, index: SelectionIndex) -> None:
        """The rows retired as of today (recomputed when the day or the index changes)."""
        day = int(self._clock() // SECONDS_PER_DAY)
        if day != self._retired_day or self._retired_index is not index:
            self._retired_day, self._retired_index = day, index
            self._retired = index.retired_mask(day)

    def _select_all(self, index: SelectionIndex, profile: RequestProfile, now: float) -> Selection:
        ranked: list[_Ranked] = []
        rejections: list[Rejection] = []
        local: Candidate | None = None
        for row in index.rows:
            result = self._evaluate(row, profile, now)
            if isinstance(result, Rejection):
                rejections.append(result)
            elif row.is_local:
                local = result[3]
            else:
                ranked.append(result)
        ranked.sort(key=_rank_key)
        return Selection(
            candidates=tuple(item[3] for item in ranked),
            rejections=tuple(rejections),
            estimated_prompt_tokens=profile.estimated_prompt_tokens,
            local=local,
        )

    def _select_top(self, index: SelectionIndex, profile: RequestProfile, now: float, limit: int) -> Selection:
        prompt = profile.estimated_prompt_tokens
        floor = self._estimator.completion_floor(profile.task_kind, profile.max_tokens)
        mask = (
            self._static_mask(index, profile)
            & ~self._retired
            & index.context_at_least.at_least(prompt + (profile.max_tokens or floor))
        )
        if profile.quality_target > 0.0 and self._quality is not None:
            mask &= self._quality_mask(index, profile)
        rows = index.rows
        found: list[_Ranked] = []
        rejections: list[Rejection] = []
        if mask.bit_count() <= _SMALL_SET:
            remaining = mask
            while remaining:
                lowest = remaining & -remaining
                remaining ^= lowest
                result = self._evaluate(rows[lowest.bit_length() - 1], profile, now)
                if isinstance(result, Rejection):
                    rejections.append(result)
                else:
                    found.append(result)
        else:
            found, rejections = self._walk(index, profile, now, mask=mask, floor=floor, limit=limit)
        found.sort(key=_rank_key)
        local: Candidate | None = None
        for row in index.local_rows:
            result = self._evaluate(row, profile, now)
            if isinstance(result, Rejection):
                rejections.append(result)
            else:
                local = result[3]
        return Selection(
            candidates=tuple(item[3] for item in found[:limit]),
            rejections=tuple(rejections),
            estimated_prompt_tokens=prompt,
            local=local,
        )

    def _walk(
        self, index: SelectionIndex, profile: RequestProfile, now: float, *, mask: int, floor: int, limit: int
    ) -> tuple[list[_Ranked], list[Rejection]]:
        """Visit rows cheapest lower bound first; stop once no unvisited row can beat the limit-th best."""
        prompt = profile.estimated_prompt_tokens
        order, bounds, _ = index.order_for(floor, prompt)
        ceiling = (profile.max_cost_micro_usd + 1) * UNITS_PER_MICRO_USD if profile.max_cost_micro_usd else math.inf
        found: list[_Ranked] = []
        rejections: list[Rejection] = []
        best: list[int] = []  # max-heap (negated) of the `limit` lowest exact costs so far
        rows = index.rows
        for position, row_index in enumerate(order):
            bound = prompt * bounds[position]
            if bound > ceiling or (len(best) == limit and bound > -best[0] * (1 + 1e-12) + 1):
                break
            if not (mask >> row_index) & 1:
                continue
            result = self._evaluate(rows[row_index], profile, now)
            if isinstance(result, Rejection):
                rejections.append(result)
                continue
            found.append(result)
            if len(best) < limit:
                heapq.heappush(best, -result[0])
            elif result[0] < -best[0]:
                heapq.heapreplace(best, -result[0])
        return found, rejections

    def _quality_mask(self, index: SelectionIndex, profile: RequestProfile) -> int:
        """Rows that may meet the quality target: a prior high enough, or evidence that may have raised it."""
        assert self._quality is not None
        scores = index.quality_at_least.get(profile.task_kind)
        required = self._quality.required_prior(profile.quality_target, profile.difficulty)
        mask = scores.at_least(required) if scores is not None else 0
        for key in self._quality.keys_with_evidence(profile.tenant, profile.task_kind):
            mask |= index.key_masks.get(key, 0)
        return mask

    def _static_mask(self, index: SelectionIndex, profile: RequestProfile) -> int:
        """Rows passing every constraint that does not depend on prompt size, live state or cost (cached)."""
        key = (
            profile.task_kind,
            profile.min_quality,
            profile.min_tier,
            profile.max_tokens,
            profile.capabilities,
            profile.allowed_providers,
            profile.denied_providers,
            profile.allowed_models,
            profile.denied_models,
            profile.regions,
            profile.residency_tags,
        )
        mask = self._masks.get(key)
        if mask is not None:
            return mask
        mask = index.remote_mask
        if profile.allowed_providers:
            mask &= _union(index.provider_masks, profile.allowed_providers)
        mask &= ~_union(index.provider_masks, profile.denied_providers)
        if profile.allowed_models:
            mask &= _union(index.key_masks, profile.allowed_models) | _union(index.model_masks, profile.allowed_models)
        mask &= ~(_union(index.key_masks, profile.denied_models) | _union(index.model_masks, profile.denied_models))
        for capability in profile.capabilities:
            mask &= index.capability_masks.get(capability, 0)
        if profile.max_tokens is not None:
            mask &= index.max_output_at_least.at_least(profile.max_tokens)
        if profile.regions:
            mask &= _union(index.region_masks, profile.regions)
        for tag in profile.residency_tags:
            mask &= index.residency_masks.get(tag, 0)
        mask &= index.tier_masks[min(max(profile.min_tier, 0), len(index.tier_masks) - 1)]
        if profile.min_quality > 0.0:
            scores = index.quality_at_least.get(profile.task_kind)
            mask &= scores.at_least(profile.min_quality) if scores is not None else 0
        if len(self._masks) >= _MASK_CACHE_SIZE:
            self._masks.clear()
        self._masks[key] = mask
        return mask

    def _evaluate(self, row: Row, profile: RequestProfile, now: float) -> _Ranked | Rejection:
        """Every constraint for one model, in CONSTRAINT_ORDER: its rank key and candidate, or its rejection."""
        completion = self._estimator.expected_completion_tokens(
            row.provider, row.model, profile.task_kind, profile.max_tokens
        )
        prompt = profile.estimated_prompt_tokens
        failed = _static_check(row, profile, prompt, completion)
        if (self._retired >> row.index) & 1 and (failed is None or _STAGE[failed[0]] > _RETIRED_STAGE):
            failed = ("retired", f"retired by the provider on {row.entry.retires_on}")
        if failed is None:
            reason = self._availability.unavailable_reason(row.provider, row.model, now)
            if reason is not None:
                failed = (reason, "unavailable now")
        if failed is not None:
            return Rejection(row.provider, row.model, failed[0], failed[1])
        budget = 0 if profile.background else profile.latency_budget_ms
        region, p50, p95 = self._best_region(row, profile.regions)
        if budget and p95 > budget:
            return Rejection(row.provider, row.model, "latency_budget", f"P95 {p95:.0f} ms > budget {budget} ms")
        units = estimate_units(row.schedule, prompt, completion)
        cost = round_units(units)
        if profile.max_cost_micro_usd and cost > profile.max_cost_micro_usd:
            detail = f"estimated {cost} micro-USD > max {profile.max_cost_micro_usd}"
            return Rejection(row.provider, row.model, "max_cost", detail)
        if profile.quality_target > 0.0 and self._quality is not None:
            prior = row.quality.get(profile.task_kind, 0.0)
            chance = self._quality.probability(profile.tenant, profile.task_kind, row.key, prior, profile.difficulty)
            if chance < profile.quality_target:
                detail = f"estimated quality {chance:.2f} < target {profile.quality_target:.2f}"
                return Rejection(row.provider, row.model, "quality_target", detail)
        tie = 0.0 if profile.background else (p95 if budget else p50)
        return (units, tie, row.key, Candidate(row.entry, region, cost, completion, p50, p95))

    def _best_region(self, row: Row, allowed: frozenset[str]) -> tuple[str, float, float]:
        best: tuple[str, float, float] = (row.regions[0], math.inf, math.inf)
        for region in row.regions:
            if allowed and region not in allowed:
                continue
            p50, p95 = self._stats.latency_ms(row.provider, row.model, region)
            if best[2] == math.inf or p95 < best[2]:
                best = (region, p50, p95)
        return best


def _union(masks: dict[str, int], names: frozenset[str]) -> int:
    out = 0
    for name in names:
        out |= masks.get(name, 0)
    return out


def _static_check(  # noqa: PLR0911, PLR0912 -- one flat test per constraint, in CONSTRAINT_ORDER
    row: Row, profile: RequestProfile, prompt: int, completion: int
) -> tuple[str, str] | None:
    if row.is_local:
        if not profile.include_local:
            return ("local_tier", "the request asked for no local answer")
        if profile.task_kind not in LOCAL_TASK_KINDS:
            return ("local_tier", f"task kind {profile.task_kind} is not served locally")
        if completion > LOCAL_MAX_COMPLETION_TOKENS:
            return ("local_tier", f"expected answer of {completion} tokens is too long for the local tier")
        score = row.quality.get(profile.task_kind, 0.0)
        if score < LOCAL_MIN_QUALITY:
            return ("local_tier", f"measured local quality {score:g} for {profile.task_kind} < {LOCAL_MIN_QUALITY:g}")
    if profile.allowed_providers and row.provider not in profile.allowed_providers:
        return ("allowed_providers", "provider not in allowed_providers")
    if row.provider in profile.denied_providers:
        return ("denied_providers", "provider in denied_providers")
    if profile.allowed_models and row.key not in profile.allowed_models and row.model not in profile.allowed_models:
        return ("allowed_models", "model not in allowed_models")
    if row.key in profile.denied_models or row.model in profile.denied_models:
        return ("denied_models", "model in denied_models")
    if not profile.capabilities <= row.capabilities:
        missing = ", ".join(sorted(profile.capabilities - row.capabilities))
        return ("capability", f"lacks {missing}")
    if profile.max_tokens is not None and profile.max_tokens > row.max_output_tokens:
        return ("max_output", f"max_tokens {profile.max_tokens} > max output {row.max_output_tokens}")
    needed = prompt + (profile.max_tokens or completion)
    if needed > row.context_window:
        return ("context_window", f"{needed} tokens needed > context window {row.context_window}")
    if profile.regions and not any(region in profile.regions for region in row.regions):
        return ("region", "not served in an allowed region")
    if not profile.residency_tags <= row.residency:
        missing = ", ".join(sorted(profile.residency_tags - row.residency))
        return ("residency", f"lacks residency {missing}")
    if row.tier < profile.min_tier:
        return ("min_tier", f"tier {row.entry.tier} below the minimum")
    if profile.min_quality > 0.0:
        score = row.quality.get(profile.task_kind, 0.0)
        if score < profile.min_quality:
            return ("min_quality", f"quality {score:g} for {profile.task_kind} < {profile.min_quality:g}")
    return None


def _rank_key(item: _Ranked) -> tuple[int, float, str]:
    return (item[0], item[1], item[2])
