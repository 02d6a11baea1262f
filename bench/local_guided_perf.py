"""Speed of guided answers against unguided ones on the same prompts, and the latency of a 20-token answer.

    python -m bench.local_guided_perf [--items 24] [--concurrency 1,8]

Prompts: the first extraction and formatting items of the test split that need the model (no exact match).
For each concurrency: tokens per second of compute for unguided greedy generation (same max_tokens) and for
guided decoding under each item's constraint, and their ratio (the aim: guided >= 75% of unguided). Then, one
at a time: latency p50/p95 of a 20-token answer (free, and guided under `[a-z]+( [a-z]+)*` forced to 20 tokens
by max_tokens) and time to the first streamed token. Everything in process (no gRPC) on the scheduler the
service uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from bench.local_eval import load
from services.local_inference.api import (
    ChatTurn,
    DecodeParams,
    EngineOptions,
    Guidance,
    Limits,
    LocalInference,
    LocalModel,
    RegexConstraint,
    Scheduler,
    SchedulerOptions,
)


def guided_items(count: int) -> list[dict[str, Any]]:
    items = (
        load("test", "formatting")[::7]
        + [i for i in load("test", "extraction") if "copy" in i or i["template"] == "iso_dates"][::5]
    )
    return items[:count]


def guidance(item: dict[str, Any]) -> Guidance:
    return Guidance(
        pattern=item.get("pattern", ""),
        copy_from_input=item["kind"] == "extraction",
        json_schema=json.dumps(item["schema"]) if "schema" in item else "",
    )


async def throughput(
    model: LocalModel, scheduler: Scheduler, items: list[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    """All items guided, then the same prompts unguided for as many tokens; tokens per wall-clock second each."""
    inference = LocalInference(model, scheduler, Limits())
    gate = asyncio.Semaphore(concurrency)
    jobs = []
    for item in items:
        constraint = inference._constraint(guidance(item), item["prompt"])
        if not isinstance(constraint, str):
            jobs.append((model.prompt_ids([ChatTurn("user", item["prompt"])]), constraint))
    lengths: list[int] = []

    async def guided(prompt: list[int], constraint: Any) -> None:
        async with gate:
            lengths.append((await scheduler.generate_guided(prompt, constraint, 48, None)).completion_tokens)

    async def free(prompt: list[int], tokens: int) -> int:
        async with gate:
            return (await scheduler.generate(prompt, DecodeParams(max_tokens=tokens), (), None)).completion_tokens

    started = time.perf_counter()
    await asyncio.gather(*(guided(prompt, constraint) for prompt, constraint in jobs))
    guided_s = time.perf_counter() - started
    mean_length = max(1, round(statistics.fmean(lengths)))
    started = time.perf_counter()
    free_tokens = await asyncio.gather(*(free(prompt, mean_length) for prompt, _ in jobs))
    free_s = time.perf_counter() - started
    guided_tps = sum(lengths) / guided_s
    free_tps = sum(free_tokens) / free_s
    return {
        "answers": len(jobs),
        "guided_tokens_per_s": round(guided_tps, 1),
        "free_tokens_per_s": round(free_tps, 1),
        "ratio": round(guided_tps / free_tps, 2),
    }


async def latency(model: LocalModel, scheduler: Scheduler, repeat: int) -> dict[str, float]:
    prompt = model.prompt_ids([ChatTurn("user", "Describe the city of Paris in a few words.")])
    words = RegexConstraint(r"[a-z]+( [a-z]+)*")
    free_s, guided_s, first_s = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        await scheduler.generate(prompt, DecodeParams(max_tokens=20), (), None)
        free_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        await scheduler.generate_guided(prompt, words, 20, None)
        guided_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        stream = scheduler.generate_stream(prompt, DecodeParams(max_tokens=20), (), None)
        first = None
        async for _delta in stream.deltas():
            first = first or time.perf_counter() - started
        await stream.result()
        if first is not None:
            first_s.append(first)

    def p(values: list[float], q: float) -> float:
        return round(sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1e3, 1)

    return {
        "free_20_tokens_p50_ms": p(free_s, 0.5),
        "free_20_tokens_p95_ms": p(free_s, 0.95),
        "guided_20_tokens_p50_ms": p(guided_s, 0.5),
        "guided_20_tokens_p95_ms": p(guided_s, 0.95),
        "first_token_p50_ms": p(first_s, 0.5),
        "first_token_median_of": len(first_s),
        "free_mean_ms": round(statistics.fmean(free_s) * 1e3, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from services.local_inference.api import ensure_smollm2

    model = LocalModel(ensure_smollm2(), EngineOptions(intra_threads=2))
    scheduler = Scheduler(model, SchedulerOptions(max_batch_size=8, max_wait_s=0.005, max_queue=1024))
    scheduler.start()
    try:
        items = guided_items(args.items)
        out: dict[str, Any] = {"latency": await latency(model, scheduler, args.repeat)}
        for concurrency in args.concurrency:
            out[f"throughput_concurrency_{concurrency}"] = await throughput(model, scheduler, items, concurrency)
        return out
    finally:
        await scheduler.stop()
        model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
    args = parser.parse_args()
    with open("/proc/loadavg", encoding="ascii") as f:
        load_before = f.read().split()[:3]
    result = asyncio.run(run(args))
    with open("/proc/loadavg", encoding="ascii") as f:
        load_after = f.read().split()[:3]
    print(json.dumps({"load_average_before": load_before, "load_average_after": load_after, **result}, indent=2))


if __name__ == "__main__":
    main()
