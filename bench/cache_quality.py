"""Cache quality: GPTCache's paraphrase protocol and a hard-negative set, through the real ResponseCache.

    python -m bench.cache_quality [--compute-type int8] [--thresholds 0.95,0.9,...]

Paraphrases (`<repo>/../shared/data/paraphrase_pairs.json`): store every `origin` (one tenant, one namespace),
look up every `similar`. A correct hit returns the entry of its own origin, a wrong hit another origin's entry, a
miss nothing. Origins with identical text share one exact key, so the later one replaces the earlier: those wrong
hits, and hits on near-duplicate origins (cosine >= 0.95 between the two origins), are broken out.
Hard negatives (bench/cache_hard_negatives.json): each pair in its own namespace; any hit is a false hit.
Each configuration runs with the guards and reranking off ("embedding only") and on ("full").
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from services.cache.api import CachePolicy, ResponseCache, view_request
from shared.embedding.convert import ensure_minilm
from shared.embedding.encoder import SentenceEncoder
from tests.cache.conftest import chat, scope

REPO = Path(__file__).resolve().parents[1]


def shared_data(name: str) -> Path:
    """`<repo>/../shared/data/<name>` (CI lays shared/ beside the clone); a worktree looks further up."""
    for ancestor in REPO.parents:
        candidate = ancestor / "shared" / "data" / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"shared/data/{name} not found beside {REPO} or above it")


# The first set was written while building the guards; the held-out set was written after they were frozen.
HARD_NEGATIVES = {
    "tuning": REPO / "bench" / "cache_hard_negatives.json",
    "held out": REPO / "bench" / "cache_hard_negatives_heldout.json",
}
GPTCACHE = {0.95: (425, 25, 549), 0.90: (804, 77, 118), 0.80: (904, 92, 3)}


class MemoEncoder:
    """Embeds each distinct text once; the sweep repeats lookups."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self._encoder = encoder
        self._memo: dict[str, np.ndarray] = {}

    def prime(self, texts: Sequence[str]) -> None:
        todo = sorted({t for t in texts if t not in self._memo})
        for start in range(0, len(todo), 64):
            chunk = todo[start : start + 64]
            for text, vector in zip(chunk, self._encoder.embed(chunk), strict=True):
                self._memo[text] = vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.prime(texts)
        return np.stack([self._memo[t] for t in texts])


def modes(base: CachePolicy) -> dict[str, CachePolicy]:
    return {
        "embedding only": replace(base, guards=False, lexical_weight=0.0, ambiguity_margin=0.0),
        "full": base,
        # Ambiguity between near-duplicate entries is a miss too: fewer wrong hits by the protocol's count.
        "full, strict ambiguity": replace(base, duplicate_similarity=1.01),
    }


def paraphrase_run(
    memo: MemoEncoder, thresholds: list[float], base: CachePolicy, index_dtype: str
) -> dict[str, list[dict[str, object]]]:
    pairs = json.loads(shared_data("paraphrase_pairs.json").read_text(encoding="utf-8"))
    origins = [p["origin"] for p in pairs]
    memo.prime(origins + [p["similar"] for p in pairs])
    origin_vectors = memo.embed(origins)
    results: dict[str, list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        cache = ResponseCache(
            data_dir=Path(data_dir), embed=memo.embed, dimensions=384, policy=base, index_dtype=index_dtype
        )
        for index, text in enumerate(origins):
            cache.store(view_request(chat(text), scope("bench")), str(index).encode())
        for mode, policy in modes(base).items():
            rows = []
            for threshold in thresholds:
                cache.policy = replace(policy, similarity_threshold=threshold)
                correct = wrong = miss = wrong_identical = wrong_near_duplicate = 0
                for index, pair in enumerate(pairs):
                    result = cache.lookup(view_request(chat(pair["similar"]), scope("bench")))
                    if not result.match:
                        miss += 1
                        continue
                    got = int(result.answer)
                    if got == index:
                        correct += 1
                        continue
                    wrong += 1
                    if origins[got] == origins[index]:
                        wrong_identical += 1
                    elif float(origin_vectors[got] @ origin_vectors[index]) >= 0.95:
                        wrong_near_duplicate += 1
                rows.append(
                    {
                        "threshold": threshold,
                        "correct": correct,
                        "wrong": wrong,
                        "miss": miss,
                        "wrong_identical_origin": wrong_identical,
                        "wrong_near_duplicate_origin": wrong_near_duplicate,
                    }
                )
            results[mode] = rows
        cache.close()
    return results


def hard_negative_run(
    memo: MemoEncoder, thresholds: list[float], base: CachePolicy, path: Path, index_dtype: str
) -> dict[str, object]:
    pairs = json.loads(path.read_text(encoding="utf-8"))
    memo.prime([p["stored"] for p in pairs] + [p["query"] for p in pairs])
    cosines = [float(memo.embed([p["stored"]])[0] @ memo.embed([p["query"]])[0]) for p in pairs]
    results: dict[str, object] = {"pairs": len(pairs), "median_cosine": float(np.median(cosines))}
    with tempfile.TemporaryDirectory() as data_dir:
        cache = ResponseCache(
            data_dir=Path(data_dir), embed=memo.embed, dimensions=384, policy=base, index_dtype=index_dtype
        )
        for index, pair in enumerate(pairs):
            cache.store(view_request(chat(pair["stored"]), scope(f"hn-{index}")), b"x")
        for mode, policy in modes(base).items():
            rows = []
            for threshold in thresholds:
                cache.policy = replace(policy, similarity_threshold=threshold)
                by_kind: Counter[str] = Counter()
                for index, pair in enumerate(pairs):
                    if cache.lookup(view_request(chat(pair["query"]), scope(f"hn-{index}"))).match:
                        by_kind[pair["kind"]] += 1
                rows.append({"threshold": threshold, "false_hits": sum(by_kind.values()), "by_kind": dict(by_kind)})
            results[mode] = rows
        cache.close()
    return results


def print_report(paraphrases: dict[str, list[dict[str, object]]], negative_sets: dict[str, dict[str, object]]) -> None:
    print("\nParaphrases (paraphrase_pairs.json): correct / wrong (identical origin, near-duplicate origin) / miss")
    print("| threshold | GPTCache | embedding only | full (guards + rerank) | full, strict ambiguity |")
    print("|---|---|---|---|---|")
    rows = zip(paraphrases["embedding only"], paraphrases["full"], paraphrases["full, strict ambiguity"], strict=True)
    for row_raw, row_full, row_strict in rows:
        threshold = float(row_raw["threshold"])  # type: ignore[arg-type]
        gpt = GPTCACHE.get(round(threshold, 2))
        gpt_text = f"{gpt[0]} / {gpt[1]} / {gpt[2]}" if gpt else "-"

        def cell(row: dict[str, object]) -> str:
            return (
                f"{row['correct']} / {row['wrong']} ({row['wrong_identical_origin']}, "
                f"{row['wrong_near_duplicate_origin']}) / {row['miss']}"
            )

        print(f"| {threshold:.2f} | {gpt_text} | {cell(row_raw)} | {cell(row_full)} | {cell(row_strict)} |")
    for name, negatives in negative_sets.items():
        print(
            f"\nHard negatives, {name} set ({negatives['pairs']} pairs, median cosine "
            f"{negatives['median_cosine']:.3f}): false hits"
        )
        print("| threshold | embedding only | full | full, by kind |")
        print("|---|---|---|---|")
        for row_raw, row_full in zip(negatives["embedding only"], negatives["full"], strict=True):  # type: ignore[call-overload]
            print(
                f"| {row_raw['threshold']:.2f} | {row_raw['false_hits']} | {row_full['false_hits']} "
                f"| {row_full['by_kind']} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--thresholds", default="0.95,0.9,0.85,0.8,0.75,0.7,0.65,0.6")
    parser.add_argument("--index-dtype", default="i8", choices=["f16", "i8", "f32"])
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    encoder = SentenceEncoder(ensure_minilm(), compute_type=args.compute_type)
    memo = MemoEncoder(encoder)
    base = CachePolicy()
    paraphrases = paraphrase_run(memo, thresholds, base, args.index_dtype)
    negatives = {
        name: hard_negative_run(memo, thresholds, base, path, args.index_dtype) for name, path in HARD_NEGATIVES.items()
    }
    print(f"model {encoder.name}, compute type {args.compute_type}, index {args.index_dtype}, policy {base}")
    print_report(paraphrases, negatives)
    if args.json:
        args.json.write_text(json.dumps({"paraphrases": paraphrases, "hard_negatives": negatives}, indent=2))


if __name__ == "__main__":
    main()
