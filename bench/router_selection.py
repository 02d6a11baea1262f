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
from pathlib import Path

import msgspec
from bourse.common.v1 import chat_pb2

from services.router.api import (
    AlwaysAvailable,
    LiveStats,
    Manifest,
    MarketFeed,
    ModelEntry,
    PriceBook,
    RequestProfile,
    Selector,
    TokenEstimator,
    default_manifest_path,
    load_manifest,
)
from shared.events.schemas import AttemptRecord, TelemetryEvent
from shared.logging import get_logger
from shared.model_store import models_dir


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


def _chunks(root: Path, pattern: str, size: int = 1500) -> list[str]:
    out = []
    for path in sorted(root.glob(pattern)):
        text = path.read_text(errors="replace")
        out += [text[i : i + size] for i in range(0, len(text), size) if len(text[i : i + size]) > 200]
    return out


def estimate_error(rounds: int = 3) -> None:
    """The prompt estimate against a real BPE tokenizer (SmolLM2's), raw and after calibration from usage."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        print("token estimate error: skipped (tokenizers not installed)")
        return
    tokenizer_path = models_dir() / "smollm2-135m-instruct-0.1.2" / "tokenizer.json"
    if not tokenizer_path.exists():
        print(f"token estimate error: skipped ({tokenizer_path} missing; run make models)")
        return
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    root = Path(__file__).resolve().parent.parent
    corpora = {
        "prose (docs, markdown)": _chunks(root, "docs/*.md") + _chunks(root, "README.md"),
        "code (python)": _chunks(root, "services/router/core/*.py"),
        "json (manifest)": _chunks(root, "shared/pricing/data/*.json"),
    }
    mixed = [text for texts in corpora.values() for text in texts]
    random.Random(4).shuffle(mixed)
    corpora["mixed traffic (all of the above, shuffled)"] = mixed
    for name, texts in corpora.items():
        if not texts:
            continue
        estimator = TokenEstimator()
        raw_errors: list[float] = []
        for _ in range(rounds):
            for index, text in enumerate(texts):
                chat = chat_pb2.ChatRequest(
                    messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)])]
                )
                raw = estimator.raw_prompt_tokens(chat)
                # What a provider bills: the text's tokens plus the same per-message framing.
                actual = len(tokenizer.encode(text).ids) + 4 + 3
                raw_errors.append(abs(raw - actual) / actual)
                estimator.observe(
                    TelemetryEvent(
                        request_id=str(index),
                        ts_ms=index,
                        tenant="bench",
                        task_kind="chat",
                        provider="p",
                        model="m",
                        served_from="remote",
                        prompt_tokens=actual,
                        estimated_prompt_tokens=estimator.prompt_tokens(chat),
                    )
                )
        error = estimator.prompt_error()
        print(
            f"token estimate, {name}: {len(texts)} prompts x {rounds}; raw heuristic error"
            f" {statistics.fmean(raw_errors):.1%}, calibrated error {error.recent_abs_pct_error:.1%}"
            f" (factor {error.correction_factor:.2f}, mean over all samples {error.mean_abs_pct_error:.1%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    estimate_error()

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
        per_profile: dict[int, list[float]] = {index: [] for index in range(len(PROFILES))}
        decisions = args.decisions if limit is not None else max(args.decisions // 10, 100)
        for index in range(decisions):
            which = index % len(PROFILES)
            t0 = time.perf_counter_ns()
            selection = selector.select(PROFILES[which], now=0.0, limit=limit)
            elapsed = (time.perf_counter_ns() - t0) / 1000
            samples.append(elapsed)
            per_profile[which].append(elapsed)
            assert selection.candidates or selection.rejections
        label = "Explain: all candidates + every rejection" if limit is None else f"Route: top {limit} candidates"
        print(
            f"select ({label}): p50 {_percentile(samples, 0.5):.1f} us, p99 {_percentile(samples, 0.99):.1f} us,"
            f" mean {statistics.fmean(samples):.1f} us over {decisions} decisions"
        )
        for which, values in per_profile.items():
            print(f"    profile {which}: p50 {_percentile(values, 0.5):.1f} us, p99 {_percentile(values, 0.99):.1f} us")


if __name__ == "__main__":
    main()
