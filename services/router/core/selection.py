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
from dataclasses import dataclass
from typing import Protocol

from services.router.core.cost import PriceSchedule, cost_units, round_units
from services.router.core.estimate import TokenEstimator
from services.router.core.live_stats import LiveStats
from services.router.core.manifest import ModelEntry
from services.router.core.price_table import PriceBook, PriceTable
from services.router.core.profile import RequestProfile

# Filters in the order they are applied; a model's rejection names the first one it fails.
CONSTRAINT_ORDER: tuple[str, ...] = (
    "local_tier",
    "allowed_providers",
    "denied_providers",
    "allowed_models",
    "denied_models",
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
)
_STAGE = {name: index for index, name in enumerate(CONSTRAINT_ORDER)}
# Task kinds the local tier may answer, and the longest answer it is trusted with.
LOCAL_TASK_KINDS = frozenset({"classification", "extraction", "formatting"})
LOCAL_MAX_COMPLETION_TOKENS = 256


class Availability(Protocol):
    def unavailable_reason(self, provider: str, model: str, now: float) -> str | None:
        """None, or a constraint name: "circuit_open", "retry_after", "rate_limit_headroom"."""
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


@dataclass(frozen=True, slots=True)
class _Row:
    """A manifest entry with everything selection needs precomputed (built once per price table)."""

    entry: ModelEntry
    key: str
    provider: str
    model: str
    is_local: bool
    tier: int
    capabilities: frozenset[str]
    residency: frozenset[str]
    regions: tuple[str, ...]
    context_window: int
    max_output_tokens: int
    quality: dict[str, float]
    schedule: PriceSchedule


def _rows(table: PriceTable) -> tuple[_Row, ...]:
    return tuple(
        _Row(
            entry=entry,
            key=entry.key,
            provider=entry.provider,
            model=entry.model,
            is_local=entry.tier == "local",
            tier=entry.tier_value,
            capabilities=frozenset(entry.capabilities),
            residency=frozenset(entry.residency),
            regions=entry.regions,
            context_window=entry.context_window,
            max_output_tokens=entry.max_output_tokens,
            quality={str(task): score for task, score in entry.quality.items()},
            schedule=table.schedules[entry.key],
        )
        for entry in table.entries
    )


def quality_for(entry: ModelEntry, task_kind: str) -> float:
    """The manifest's quality score of `entry` for a task kind (0 when the manifest gives none)."""
    scores: dict[str, float] = dict(entry.quality.items())
    return scores.get(task_kind, 0.0)


class Selector:
    def __init__(
        self, book: PriceBook, stats: LiveStats, estimator: TokenEstimator, availability: Availability
    ) -> None:
        self._book = book
        self._stats = stats
        self._estimator = estimator
        self._availability = availability
        self._table: PriceTable | None = None
        self._rows: tuple[_Row, ...] = ()
        book.on_swap(self._reindex)
        self._reindex(book.current)

    def _reindex(self, table: PriceTable) -> None:
        rows = _rows(table)
        self._table, self._rows = table, rows

    def _rows_for(self, table: PriceTable) -> tuple[_Row, ...]:
        if table is not self._table:
            self._reindex(table)
        return self._rows

    def select(self, profile: RequestProfile, *, now: float, limit: int | None = None) -> Selection:
        """Qualified candidates ranked cheapest first, every rejection, and the local tier if it qualifies.

        `limit` keeps only that many top candidates (rejections are still complete).
        """
        rows = self._rows_for(self._book.current)
        prompt = profile.estimated_prompt_tokens
        task = profile.task_kind
        max_tokens = profile.max_tokens
        budget = 0 if profile.background else profile.latency_budget_ms
        ranked: list[tuple[int, float, str, Candidate]] = []
        rejections: list[Rejection] = []
        local: Candidate | None = None
        expected_completion = self._estimator.expected_completion_tokens
        for row in rows:
            completion = expected_completion(row.provider, row.model, task, max_tokens)
            failed = self._static_check(row, profile, prompt, completion)
            if failed is None:
                reason = self._availability.unavailable_reason(row.provider, row.model, now)
                if reason is not None:
                    failed = (reason, "unavailable now")
            if failed is not None:
                constraint, detail = failed
                rejections.append(Rejection(row.provider, row.model, constraint, detail))
                continue
            region, p50, p95 = self._best_region(row, profile.regions)
            if budget and p95 > budget:
                rejections.append(
                    Rejection(row.provider, row.model, "latency_budget", f"P95 {p95:.0f} ms > budget {budget} ms")
                )
                continue
            units = cost_units(row.schedule, prompt, completion)
            cost = round_units(units)
            if profile.max_cost_micro_usd and cost > profile.max_cost_micro_usd:
                rejections.append(
                    Rejection(
                        row.provider,
                        row.model,
                        "max_cost",
                        f"estimated {cost} micro-USD > max {profile.max_cost_micro_usd}",
                    )
                )
                continue
            candidate = Candidate(row.entry, region, cost, completion, p50, p95)
            if row.is_local:
                local = candidate
                continue
            tie = 0.0 if profile.background else (p95 if budget else p50)
            ranked.append((units, tie, row.key, candidate))
        best = heapq.nsmallest(limit, ranked, key=_rank_key) if limit is not None else sorted(ranked, key=_rank_key)
        return Selection(
            candidates=tuple(item[3] for item in best),
            rejections=tuple(rejections),
            estimated_prompt_tokens=prompt,
            local=local,
        )

    @staticmethod
    def _static_check(  # noqa: PLR0911, PLR0912 -- one flat test per constraint, in CONSTRAINT_ORDER
        row: _Row, profile: RequestProfile, prompt: int, completion: int
    ) -> tuple[str, str] | None:
        if row.is_local:
            if not profile.include_local:
                return ("local_tier", "the request asked for no local answer")
            if profile.task_kind not in LOCAL_TASK_KINDS:
                return ("local_tier", f"task kind {profile.task_kind} is not served locally")
            if completion > LOCAL_MAX_COMPLETION_TOKENS:
                return ("local_tier", f"expected answer of {completion} tokens is too long for the local tier")
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

    def _best_region(self, row: _Row, allowed: frozenset[str]) -> tuple[str, float, float]:
        best: tuple[str, float, float] = (row.regions[0], math.inf, math.inf)
        for region in row.regions:
            if allowed and region not in allowed:
                continue
            p50, p95 = self._stats.latency_ms(row.provider, row.model, region)
            if best[2] == math.inf or p95 < best[2]:
                best = (region, p50, p95)
        return best


def _rank_key(item: tuple[int, float, str, Candidate]) -> tuple[int, float, str]:
    return (item[0], item[1], item[2])
