"""Live per-model statistics from telemetry: latency and TTFT quantiles, error and rate-limit rates.

Kept per (provider, model, region) and per (provider, model) across regions, with time decay on event
timestamps, so every replica that reads the same telemetry subjects converges to the same figures. Until a
model has `min_samples` latency samples, the manifest's defaults are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from services.router.core.selection.latency_sketch import DecayingQuantileSketch, DecayingRate
from shared.errors import Reason
from shared.events.schemas import TelemetryEvent
from shared.pricing.price_table import PriceBook

RATE_LIMITED = Reason.RATE_LIMITED
MAX_REGIONS_PER_MODEL = 16  # bounds memory against junk region names in telemetry


@dataclass
class ModelStats:
    half_life_s: float
    latency: DecayingQuantileSketch = field(init=False)
    ttft: DecayingQuantileSketch = field(init=False)
    errors: DecayingRate = field(init=False)
    rate_limited: DecayingRate = field(init=False)
    latency_quantiles: tuple[float, float] = (math.nan, math.nan)
    ttft_p50: float = math.nan
    dirty: bool = False
    last_ts_ms: int = 0

    def __post_init__(self) -> None:
        self.latency = DecayingQuantileSketch(half_life_s=self.half_life_s)
        self.ttft = DecayingQuantileSketch(half_life_s=self.half_life_s)
        self.errors = DecayingRate(half_life_s=self.half_life_s)
        self.rate_limited = DecayingRate(half_life_s=self.half_life_s)

    def refresh(self) -> None:
        p50, p95 = self.latency.quantiles((0.5, 0.95))
        self.latency_quantiles = (p50, p95)
        self.ttft_p50 = self.ttft.quantile(0.5)
        self.dirty = False


@dataclass(frozen=True, slots=True, kw_only=True)
class _Sample:
    """One model's share of a request: its latency (None when it failed), outcome and TTFT."""

    provider: str
    model: str
    region: str
    latency_ms: float | None
    error: bool
    rate_limited: bool
    ttft_ms: float | None


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    p50_ms: float
    p95_ms: float
    ttft_ms: float
    error_rate: float
    rate_limit_rate: float
    samples: int
    live: bool  # False when the latency figures are the manifest's defaults


class LiveStats:
    def __init__(self, book: PriceBook, *, half_life_s: float = 300.0, min_samples: int = 3) -> None:
        self._book = book
        self._half_life_s = half_life_s
        self._min_samples = min_samples
        self._stats: dict[tuple[str, str, str], ModelStats] = {}
        self._regions: dict[tuple[str, str], int] = {}
        self.events = 0
        self.ignored = 0

    def observe(self, event: TelemetryEvent) -> None:
        """Fold one request's telemetry in: every remote attempt counts for its own model."""
        self.events += 1
        at_s = event.ts_ms / 1000.0
        if not event.attempts:
            if event.served_from == "remote" and event.provider:
                self._record(
                    _Sample(
                        provider=event.provider,
                        model=event.model,
                        region=event.region,
                        latency_ms=event.upstream_ms or event.latency_ms,
                        error=event.outcome != "ok",
                        rate_limited=event.error_reason == RATE_LIMITED,
                        ttft_ms=event.ttft_ms,
                    ),
                    at_s,
                    event.ts_ms,
                )
            return
        for attempt in event.attempts:
            if attempt.served_from != "remote" or attempt.outcome in ("cancelled", "miss"):
                continue
            answered = attempt.outcome != "error"
            is_answer = answered and attempt.provider == event.provider and attempt.model == event.model
            self._record(
                _Sample(
                    provider=attempt.provider,
                    model=attempt.model,
                    region=event.region if is_answer else "",
                    latency_ms=attempt.latency_ms if answered else None,
                    error=not answered,
                    rate_limited=attempt.error_reason == RATE_LIMITED,
                    ttft_ms=event.ttft_ms if is_answer else None,
                ),
                at_s,
                event.ts_ms,
            )

    def _record(self, sample: _Sample, at_s: float, ts_ms: int) -> None:
        if self._book.current.get(sample.provider, sample.model) is None:
            self.ignored += 1  # unknown models would grow memory without bound
            return
        targets = [self._get(sample.provider, sample.model, "")]
        if sample.region:
            regional = self._get_regional(sample.provider, sample.model, sample.region)
            if regional is not None:
                targets.append(regional)
        for stats in targets:
            stats.errors.add(sample.error, at_s)
            stats.rate_limited.add(sample.rate_limited, at_s)
            if sample.latency_ms is not None and sample.latency_ms > 0.0:
                stats.latency.add(sample.latency_ms, at_s)
                stats.dirty = True
            if sample.ttft_ms is not None and sample.ttft_ms > 0.0:
                stats.ttft.add(sample.ttft_ms, at_s)
                stats.dirty = True
            stats.last_ts_ms = max(stats.last_ts_ms, ts_ms)

    def _get(self, provider: str, model: str, region: str) -> ModelStats:
        key = (provider, model, region)
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = ModelStats(self._half_life_s)
        return stats

    def _get_regional(self, provider: str, model: str, region: str) -> ModelStats | None:
        key = (provider, model, region)
        if key in self._stats:
            return self._stats[key]
        count = self._regions.get((provider, model), 0)
        if count >= MAX_REGIONS_PER_MODEL:
            return None
        self._regions[(provider, model)] = count + 1
        return self._get(provider, model, region)

    def _live(self, provider: str, model: str, region: str) -> ModelStats | None:
        stats = self._stats.get((provider, model, region)) if region else None
        if stats is None or stats.latency.count < self._min_samples:
            stats = self._stats.get((provider, model, ""))
        if stats is None or stats.latency.count < self._min_samples:
            return None
        if stats.dirty:
            stats.refresh()
        return stats

    def latency_ms(self, provider: str, model: str, region: str) -> tuple[float, float]:
        """(P50, P95) in milliseconds: live when traffic was seen, else the manifest's defaults."""
        stats = self._live(provider, model, region)
        if stats is not None:
            return stats.latency_quantiles
        entry = self._book.current.get(provider, model)
        if entry is None:
            return (math.inf, math.inf)
        return (entry.latency_p50_ms, entry.latency_p95_ms)

    def ttft_ms(self, provider: str, model: str, region: str) -> float:
        stats = self._live(provider, model, region)
        if stats is not None and stats.ttft.count >= self._min_samples:
            return stats.ttft_p50
        entry = self._book.current.get(provider, model)
        return entry.ttft_ms if entry is not None else math.inf

    def snapshot(self, provider: str, model: str, region: str = "") -> StatsSnapshot:
        p50, p95 = self.latency_ms(provider, model, region)
        any_stats = self._stats.get((provider, model, region)) or self._stats.get((provider, model, ""))
        return StatsSnapshot(
            p50_ms=p50,
            p95_ms=p95,
            ttft_ms=self.ttft_ms(provider, model, region),
            error_rate=any_stats.errors.value if any_stats else 0.0,
            rate_limit_rate=any_stats.rate_limited.value if any_stats else 0.0,
            samples=any_stats.latency.count if any_stats else 0,
            live=self._live(provider, model, region) is not None,
        )

    def error_rate(self, provider: str, model: str, region: str = "") -> float:
        return self.snapshot(provider, model, region).error_rate

    def rate_limit_rate(self, provider: str, model: str, region: str = "") -> float:
        return self.snapshot(provider, model, region).rate_limit_rate
