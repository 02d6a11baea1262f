"""What quality-aware routing adds to Route: the difficulty estimate and selection with a quality target.

    python -m bench.router_quality_latency [--weights services/router/data/quality_predictor.json]

- predictor given an embedding (the cost when an embedding the request already has is reused);
- the whole estimate with the router's own encoder (int8 MiniLM, 1 thread, prompt cut at the weights' token cut),
  for short, medium and long prompts, and the worker-thread hop Route pays to keep the event loop free;
- selection over a 500-model manifest (bench.router_selection's) with and without a quality target.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from bench.router_selection import PROFILES, wide_manifest
from services.router.api import (
    AlwaysAvailable,
    DifficultyPredictor,
    EvidenceBook,
    LiveStats,
    PriceBook,
    PromptScorer,
    QualityEstimator,
    QualityRouting,
    QualityTargets,
    RequestProfile,
    Selector,
    ServedRequests,
    TokenEstimator,
    default_predictor_path,
)

SHORT = "What is the capital of France?"
MEDIUM = (
    "A train leaves the station at 3 pm travelling at 60 km/h. A second train leaves the same station at 4 pm"
    " travelling at 90 km/h on the same track. At what time does the second train catch up with the first,"
    " and how far from the station are they then? Explain each step."
)
LONG = " ".join([MEDIUM] * 6)  # well past 256 tokens


def _p50_us(run: Callable[[], object], rounds: int) -> tuple[float, float]:
    for _ in range(min(rounds, 20)):
        run()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def _thread_hop_us(rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        await asyncio.to_thread(int)
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples)


def _selecting(selector: Selector, profiles: list[RequestProfile]) -> Callable[[], object]:
    counter = itertools.count()

    def run() -> object:
        return selector.select(profiles[next(counter) % len(profiles)], now=0.0, limit=5)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--weights", type=Path, default=default_predictor_path())
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    from shared.embedding.convert import ensure_minilm
    from shared.embedding.encoder import SentenceEncoder

    print(f"machine: {os.cpu_count()} cores shared with other work (load average {os.getloadavg()[0]:.1f})")
    predictor = DifficultyPredictor.load(args.weights)
    encoder = SentenceEncoder(ensure_minilm(), compute_type="int8", intra_threads=1)
    scorer = PromptScorer(predictor, encoder)
    for label, text in (("short", SHORT), ("medium", MEDIUM), ("long", LONG)):
        tokens = len(encoder.token_ids([text])[0])
        embedding = scorer.embed([text])
        assert embedding is not None
        vector = embedding[0]
        reuse = _p50_us(functools.partial(predictor.predict, text, vector), args.rounds)
        own = _p50_us(functools.partial(scorer.predict, text), args.rounds)
        print(
            f"{label:6} prompt ({tokens} tokens, embedded {min(tokens, predictor.info.embedding_max_tokens)}):"
            f" estimate reusing an embedding p50 {reuse[0]:.0f} us (p99 {reuse[1]:.0f});"
            f" with the router's own encoder p50 {own[0] / 1000:.2f} ms (p99 {own[1] / 1000:.2f})"
        )
    print(f"worker-thread hop (asyncio.to_thread) p50 {asyncio.run(_thread_hop_us(args.rounds)):.0f} us")

    book = PriceBook.from_manifest(wide_manifest(500))
    estimator = TokenEstimator()
    quality = QualityRouting(
        scorer=None,
        targets=QualityTargets({}, {}),
        estimator=QualityEstimator(EvidenceBook(half_life_s=86400.0, max_keys=100_000), prior_strength=20.0),
        served=ServedRequests(10),
    )
    plain = Selector(book, LiveStats(book), estimator, AlwaysAvailable())
    gated = Selector(book, LiveStats(book), estimator, AlwaysAvailable(), quality)
    targeted = [
        msgspec.structs.replace(
            p, tenant="acme", quality_target=quality.targets.target("acme", p.task_kind), difficulty=d
        )
        for p, d in zip(PROFILES, (0.0, 0.5, 1.0, -0.5, 0.0), strict=True)
    ]
    runs: list[tuple[str, Selector, list[RequestProfile]]] = [
        ("no quality target", plain, list(PROFILES)),
        ("quality target", gated, targeted),
    ]
    for label, selector, profiles in runs:
        result = _p50_us(_selecting(selector, profiles), 5000)
        print(f"selection over 500 models, top 5, {label}: p50 {result[0]:.0f} us, p99 {result[1]:.0f} us")


if __name__ == "__main__":
    main()
