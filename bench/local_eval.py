"""Accuracy of the local model on the three trivial task kinds, for the router's manifest quality scores.

    python -m bench.local_eval [--model-dir DIR] [--json out.json] [--show-failures]

Data: bench/local_eval_data/{classification,extraction,formatting}.jsonl (hand-labelled, >= 50 items each).
- classification: the label chosen by Score (log-probability of each label as the answer), as the router does;
  free generation is reported beside it for comparison.
- extraction: the generated answer, trimmed of quotes and a final period, equals the gold value (case-insensitive);
  also reported: how often the answer matches the item's pattern (what the router validates), how often a
  pattern-valid answer is still wrong (the errors validation cannot catch), and how often the first match of the
  pattern inside the answer is the gold value (what a caller that searches the answer would get).
- formatting: the answer equals the gold text exactly (after trimming), or parses as JSON equal to the gold value.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.local_inference.api import (
    ChatTurn,
    EngineOptions,
    Limits,
    LocalInference,
    LocalModel,
    Sampling,
    Scheduler,
    SchedulerOptions,
)

DATA_DIR = Path(__file__).parent / "local_eval_data"
KINDS = ("classification", "extraction", "formatting")
THRESHOLDS = (0.5, 0.7, 0.9)


@dataclass
class KindResult:
    kind: str
    total: int = 0
    correct: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    # classification: (probability of the chosen label, whether it was right), for accept thresholds
    confidences: list[tuple[float, bool]] = field(default_factory=list)

    def at_threshold(self, threshold: float) -> tuple[int, int]:
        """(answers accepted, accepted and right) when only answers with probability >= threshold are kept."""
        kept = [right for probability, right in self.confidences if probability >= threshold]
        return len(kept), sum(kept)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def load_items(kind: str) -> list[dict[str, Any]]:
    lines = (DATA_DIR / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def clean(answer: str) -> str:
    text = answer.strip()
    fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, flags=re.DOTALL)
    if fence:
        text = fence.group(1)
    text = text.strip().strip("`\"'").strip()
    return text


def json_equal(answer: str, gold: Any) -> bool:
    try:
        return bool(json.loads(clean(answer)) == gold)
    except ValueError:
        return False


async def run_classification(inference: LocalInference, items: list[dict[str, Any]]) -> KindResult:
    result = KindResult("classification")

    async def one(item: dict[str, Any]) -> None:
        turns = [ChatTurn("user", item["prompt"])]
        scores = await inference.score(turns, item["labels"], None)
        generated = await inference.generate(turns, Sampling(max_tokens=8), None)
        free = clean(generated.text).lower().rstrip(".")
        result.total += 1
        if free == item["gold"]:
            result.extra["generate_correct"] = result.extra.get("generate_correct", 0) + 1
        right = scores[0].label == item["gold"]
        result.confidences.append((scores[0].probability, right))
        if right:
            result.correct += 1
        else:
            result.failures.append({"id": item["id"], "gold": item["gold"], "got": scores[0].label, "free": free})

    await asyncio.gather(*(one(item) for item in items))
    return result


async def run_extraction(inference: LocalInference, items: list[dict[str, Any]]) -> KindResult:
    result = KindResult("extraction", extra={"pattern_valid": 0, "valid_but_wrong": 0, "gold_found_by_pattern": 0})

    async def one(item: dict[str, Any]) -> None:
        generated = await inference.generate([ChatTurn("user", item["prompt"])], Sampling(max_tokens=32), None)
        answer = clean(generated.text).rstrip(".").strip()
        correct = answer.casefold() == item["gold"].casefold()
        valid = re.fullmatch(item["pattern"], answer) is not None
        result.total += 1
        result.correct += correct
        result.extra["pattern_valid"] += valid
        result.extra["valid_but_wrong"] += valid and not correct
        found = re.search(item["pattern"], generated.text)
        gold_found = found is not None and found.group(0).casefold() == item["gold"].casefold()
        result.extra["gold_found_by_pattern"] += gold_found
        if not correct:
            result.failures.append({"id": item["id"], "gold": item["gold"], "got": generated.text})

    await asyncio.gather(*(one(item) for item in items))
    return result


async def run_formatting(inference: LocalInference, items: list[dict[str, Any]]) -> KindResult:
    result = KindResult("formatting")

    async def one(item: dict[str, Any]) -> None:
        generated = await inference.generate([ChatTurn("user", item["prompt"])], Sampling(max_tokens=64), None)
        if item["check"] == "json":
            correct = json_equal(generated.text, item["gold"])
        else:
            correct = clean(generated.text) == item["gold"]
        result.total += 1
        result.correct += correct
        if not correct:
            result.failures.append({"id": item["id"], "gold": item["gold"], "got": generated.text})

    await asyncio.gather(*(one(item) for item in items))
    return result


async def evaluate(model_dir: Path, *, intra_threads: int) -> list[KindResult]:
    model = LocalModel(model_dir, EngineOptions(intra_threads=intra_threads))
    scheduler = Scheduler(model, SchedulerOptions(max_batch_size=16, max_wait_s=0.01, max_queue=1024))
    scheduler.start()
    inference = LocalInference(model, scheduler, Limits())
    try:
        return [
            await run_classification(inference, load_items("classification")),
            await run_extraction(inference, load_items("extraction")),
            await run_formatting(inference, load_items("formatting")),
        ]
    finally:
        await scheduler.stop()
        model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=None, help="CTranslate2 model (default: converted SmolLM2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--intra-threads", type=int, default=2)
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args()
    if args.model_dir is None:
        from services.local_inference.api import ensure_smollm2

        args.model_dir = ensure_smollm2()
    started = time.perf_counter()
    results = asyncio.run(evaluate(args.model_dir, intra_threads=args.intra_threads))
    elapsed = time.perf_counter() - started
    print(f"model: {args.model_dir.name}   ({elapsed:.0f} s)")
    print(f"{'kind':<16}{'items':>6}{'correct':>9}{'accuracy':>10}  notes")
    for r in results:
        notes = ", ".join(f"{k}={v}" for k, v in sorted(r.extra.items()))
        print(f"{r.kind:<16}{r.total:>6}{r.correct:>9}{r.accuracy:>10.2f}  {notes}")
    classification = results[0]
    for threshold in THRESHOLDS:
        kept, right = classification.at_threshold(threshold)
        precision = right / kept if kept else 0.0
        print(f"  classification, Score probability >= {threshold}: {kept} kept, precision {precision:.2f}")
    if args.show_failures:
        for r in results:
            for failure in r.failures:
                print(r.kind, json.dumps(failure, ensure_ascii=False))
    if args.json:
        payload = {
            "model": args.model_dir.name,
            "results": {r.kind: {"items": r.total, "accuracy": round(r.accuracy, 3), **r.extra} for r in results},
            "classification_thresholds": {
                str(t): dict(zip(("kept", "right"), classification.at_threshold(t), strict=True)) for t in THRESHOLDS
            },
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
