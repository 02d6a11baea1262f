"""Selection time per decision with a 500-model manifest (p50/p99), and telemetry events one router absorbs.

    python -m bench.router_selection [--models 500] [--decisions 20000]

The manifest is the packaged default widened to N models (each real model copied under other provider
names with jittered prices, regions, tiers and quality), with live latency statistics for every model.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import msgspec

from services.router.core.estimate import TokenEstimator
from services.router.core.live_stats import LiveStats
from services.router.core.manifest import Manifest, ModelEntry, default_manifest_path, load_manifest
from services.router.core.price_table import PriceBook
from services.router.core.profile import RequestProfile
from services.router.core.selection import AlwaysAvailable, Selector
from services.router.market import MarketFeed
from shared.events.schemas import AttemptRecord, TelemetryEvent
from shared.logging import get_logger


def wide_manifest(count: int, seed: int = 1) -> Manifest:
    rng = random.Random(seed)
    base = load_manifest(default_manifest_path())
    remote = [entry for entry in base.models if entry.provider != "local"]
    models: list[ModelEntry] = [entry for entry in base.models if entry.provider == "local"]
    index = 0
    while len(models) < count:
        source = remote[index % len(remote)]
        factor = rng.uniform(0.5, 2.0)
        prices = msgspec.structs.replace(
            source.prices,
            input_per_mtok=round(source.prices.input_per_mtok * factor, 4),
            output_per_mtok=round(source.prices.output_per_mtok * factor, 4),
        )
        models.append(
            msgspec.structs.replace(
                source,
                provider=f"{source.provider}-{index // len(remote)}",
                prices=prices,
                quality={task: min(1.0, score * rng.uniform(0.9, 1.1)) for task, score in source.quality.items()},
            )
        )
        index += 1
    return msgspec.structs.replace(base, models=tuple(models))


PROFILES = [
    RequestProfile(estimated_prompt_tokens=800),
    RequestProfile(estimated_prompt_tokens=300, task_kind="classification", max_tokens=8),
    RequestProfile(estimated_prompt_tokens=4000, task_kind="code", min_quality=0.8, capabilities=frozenset({"tools"})),
    RequestProfile(estimated_prompt_tokens=1200, residency_tags=frozenset({"eu"}), latency_budget_ms=3000),
    RequestProfile(estimated_prompt_tokens=2000, max_cost_micro_usd=2000, background=True),
]


def _events(book: PriceBook, count: int, seed: int = 2) -> list[bytes]:
    rng = random.Random(seed)
    entries = [entry for entry in book.current.entries if entry.provider != "local"]
    encoder = msgspec.json.Encoder()
    out = []
    now_ms = int(time.time() * 1000)
    for index in range(count):
        entry = rng.choice(entries)
        latency = rng.lognormvariate(6.5, 0.6)
        event = TelemetryEvent(
            request_id=f"r{index}",
            ts_ms=now_ms + index,
            tenant="t",
            task_kind="chat",
            provider=entry.provider,
            model=entry.model,
            region=entry.regions[0],
            served_from="remote",
            prompt_tokens=rng.randint(100, 3000),
            estimated_prompt_tokens=rng.randint(100, 3000),
            completion_tokens=rng.randint(10, 800),
            latency_ms=latency,
            upstream_ms=latency,
            attempts=[
                AttemptRecord(
                    provider=entry.provider,
                    model=entry.model,
                    served_from="remote",
                    outcome="success",
                    latency_ms=latency,
                )
            ],
        )
        out.append(encoder.encode(event))
    return out


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()

    book = PriceBook.from_manifest(wide_manifest(args.models))
    stats = LiveStats(book)
    estimator = TokenEstimator()
    feed = MarketFeed(None, book, stats, estimator, get_logger("bench"))  # type: ignore[arg-type]
    payloads = _events(book, args.events)
    started = time.perf_counter()
    for payload in payloads:
        feed.absorb_telemetry(payload)
    absorb_s = time.perf_counter() - started
    selector = Selector(book, stats, estimator, AlwaysAvailable())

    print(f"machine: {os.cpu_count()} cores, loaded by other work; {len(book.current)} models, live stats on all")
    print(f"telemetry absorbed (decode + stats + estimator): {args.events / absorb_s:,.0f} events/s")
    for limit in (None, 8):
        samples: list[float] = []
        for index in range(args.decisions):
            profile = PROFILES[index % len(PROFILES)]
            t0 = time.perf_counter_ns()
            selection = selector.select(profile, now=0.0, limit=limit)
            samples.append((time.perf_counter_ns() - t0) / 1000)
            assert selection.candidates or selection.rejections
        label = "all candidates + rejections" if limit is None else f"top {limit} candidates"
        print(
            f"select ({label}): p50 {_percentile(samples, 0.5):.1f} us, p99 {_percentile(samples, 0.99):.1f} us,"
            f" mean {statistics.fmean(samples):.1f} us"
        )


if __name__ == "__main__":
    main()
