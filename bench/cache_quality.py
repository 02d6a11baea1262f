"""Cache quality: GPTCache's paraphrase protocol and a hard-negative set, through the real ResponseCache.

    python -m bench.cache_quality [--compute-type int8] [--thresholds 0.95,0.9,...]

Paraphrases (`<repo>/../shared/data/paraphrase_pairs.json`): store every `origin` (one tenant, one namespace),
look up every `similar`. A correct hit returns the entry of its own origin, a wrong hit another origin's entry, a
miss nothing. Origins with identical text share one exact key, so the later one replaces the earlier: those wrong
hits, and hits on near-duplicate origins (cosine >= 0.95 between the two origins), are broken out.
Hard negatives (bench/cache_hard_negatives.json): each pair in its own namespace; any hit is a false hit.
Generated pairs (bench/cache_pairs_test.jsonl, the frozen test split): each pair in its own namespace.
Each runs in the strict (default) and balanced semantic modes, over a sweep of the cosine prefilter.
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

from bench.cache_pairs import load as load_pairs
from services.cache.api import CachePolicy, ResponseCache, view_request
from shared.embedding.convert import ensure_minilm
from shared.embedding.encoder import SentenceEncoder, TokenStates
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
    """Encodes each distinct text once (vector and token states); the sweep repeats lookups."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self._encoder = encoder
        self._memo: dict[str, tuple[np.ndarray, TokenStates]] = {}

    def prime(self, texts: Sequence[str]) -> None:
        todo = sorted({t for t in texts if t not in self._memo})
        for start in range(0, len(todo), 64):
            chunk = todo[start : start + 64]
            vectors, tokens = self._encoder.encode(chunk)
            for text, vector, states in zip(chunk, vectors, tokens, strict=True):
                self._memo[text] = (vector, states)

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenStates]]:
        self.prime(texts)
        return np.stack([self._memo[t][0] for t in texts]), [self._memo[t][1] for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)[0]


def modes(base: CachePolicy) -> dict[str, CachePolicy]:
    return {
        "strict (default)": base,
        "balanced": replace(base, semantic_mode="balanced"),
        # Ambiguity between near-duplicate entries is a miss too: fewer wrong hits by the protocol's count.
        "strict, strict ambiguity": replace(base, duplicate_similarity=1.01),
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
            data_dir=Path(data_dir), encode=memo.encode, dimensions=384, policy=base, index_dtype=index_dtype
        )
        for index, text in enumerate(origins):
            cache.store(view_request(chat(text), scope("bench")), str(index).encode())
        for mode, policy in modes(base).items():
            rows = []
            for threshold in thresholds:
                cache.policy = replace(policy, similarity_threshold=threshold)
                cache.acceptance.default_mode = policy.semantic_mode
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
            data_dir=Path(data_dir), encode=memo.encode, dimensions=384, policy=base, index_dtype=index_dtype
        )
        for index, pair in enumerate(pairs):
            cache.store(view_request(chat(pair["stored"]), scope(f"hn-{index}")), b"x")
        for mode, policy in modes(base).items():
            rows = []
            for threshold in thresholds:
                cache.policy = replace(policy, similarity_threshold=threshold)
                cache.acceptance.default_mode = policy.semantic_mode
                by_kind: Counter[str] = Counter()
                for index, pair in enumerate(pairs):
                    if cache.lookup(view_request(chat(pair["query"]), scope(f"hn-{index}"))).match:
                        by_kind[pair["kind"]] += 1
                rows.append({"threshold": threshold, "false_hits": sum(by_kind.values()), "by_kind": dict(by_kind)})
            results[mode] = rows
        cache.close()
    return results


def generated_run(
    memo: MemoEncoder, thresholds: list[float], base: CachePolicy, split: str, index_dtype: str
) -> list[dict[str, object]]:
    """The generated pairs of one split, each in its own namespace: false hits on negatives, hits on positives."""
    pairs = load_pairs(split)
    memo.prime([p["stored"] for p in pairs] + [p["query"] for p in pairs])
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as data_dir:
        cache = ResponseCache(
            data_dir=Path(data_dir), encode=memo.encode, dimensions=384, policy=base, index_dtype=index_dtype
        )
        for index, pair in enumerate(pairs):
            cache.store(view_request(chat(pair["stored"]), scope(f"gen-{index}")), b"x")
        for mode, policy in modes(base).items():
            if "ambiguity" in mode:  # one entry per namespace: no ambiguity to resolve
                continue
            for threshold in thresholds:
                cache.policy = replace(policy, similarity_threshold=threshold)
                cache.acceptance.default_mode = policy.semantic_mode
                false_by_kind: Counter[str] = Counter()
                hits = 0
                for index, pair in enumerate(pairs):
                    hit = bool(cache.lookup(view_request(chat(pair["query"]), scope(f"gen-{index}"))).match)
                    if hit and pair["label"] == 0:
                        false_by_kind[pair["kind"]] += 1
                    hits += hit and pair["label"] == 1
                negatives = sum(p["label"] == 0 for p in pairs)
                rows.append(
                    {
                        "mode": mode,
                        "threshold": threshold,
                        "negatives": negatives,
                        "false_hits": sum(false_by_kind.values()),
                        "positives": len(pairs) - negatives,
                        "positive_hits": hits,
                        "by_kind": dict(false_by_kind.most_common()),
                    }
                )
        cache.close()
    return rows


def print_report(
    paraphrases: dict[str, list[dict[str, object]]],
    negative_sets: dict[str, dict[str, object]],
    generated: list[dict[str, object]],
) -> None:
    names = list(paraphrases)
    print("\nParaphrases (paraphrase_pairs.json): correct / wrong (identical origin, near-duplicate origin) / miss")
    print(f"| cosine prefilter | GPTCache | {' | '.join(names)} |")
    print("|---|---|" + "---|" * len(names))
    for rows in zip(*paraphrases.values(), strict=True):
        threshold = float(rows[0]["threshold"])  # type: ignore[arg-type]
        gpt = GPTCACHE.get(round(threshold, 2))
        gpt_text = f"{gpt[0]} / {gpt[1]} / {gpt[2]}" if gpt else "-"
        cells = [
            f"{r['correct']} / {r['wrong']} ({r['wrong_identical_origin']}, "
            f"{r['wrong_near_duplicate_origin']}) / {r['miss']}"
            for r in rows
        ]
        print(f"| {threshold:.2f} | {gpt_text} | {' | '.join(cells)} |")
    for name, negatives in negative_sets.items():
        print(
            f"\nHard negatives, {name} set ({negatives['pairs']} pairs, median cosine "
            f"{negatives['median_cosine']:.3f}): false hits"
        )
        print(f"| cosine prefilter | {' | '.join(names)} |")
        print("|---|" + "---|" * len(names))
        for rows in zip(*(negatives[n] for n in names), strict=True):  # type: ignore[call-overload]
            print(
                f"| {rows[0]['threshold']:.2f} | "
                + " | ".join(f"{r['false_hits']} {r['by_kind']}" for r in rows)
                + " |"
            )
    if generated:
        print("\nGenerated test split, each pair in its own namespace: false hits / hits on paraphrases")
        print("| mode | cosine prefilter | false hits | paraphrases hit | false hits by kind |")
        print("|---|---|---|---|---|")
        for row in generated:
            negatives, positives = int(row["negatives"]), int(row["positives"])  # type: ignore[call-overload]
            false_hits, hits = int(row["false_hits"]), int(row["positive_hits"])  # type: ignore[call-overload]
            print(
                f"| {row['mode']} | {row['threshold']:.2f} | {false_hits}/{negatives} ({false_hits / negatives:.2%}) "
                f"| {hits}/{positives} ({hits / positives:.1%}) | {row['by_kind']} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--thresholds", default="0.8,0.7,0.6,0.5")
    parser.add_argument("--index-dtype", default="i8", choices=["f16", "i8", "f32"])
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--skip-generated", action="store_true", help="skip the generated test split")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    encoder = SentenceEncoder(ensure_minilm(), compute_type=args.compute_type)
    memo = MemoEncoder(encoder)
    base = CachePolicy()
    paraphrases = paraphrase_run(memo, thresholds, base, args.index_dtype)
    negatives = {
        name: hard_negative_run(memo, thresholds, base, path, args.index_dtype) for name, path in HARD_NEGATIVES.items()
    }
    generated = generated_run(memo, thresholds, base, "test", args.index_dtype) if not args.skip_generated else []
    print(f"model {encoder.name}, compute type {args.compute_type}, index {args.index_dtype}, policy {base}")
    print_report(paraphrases, negatives, generated)
    if args.json:
        args.json.write_text(
            json.dumps({"paraphrases": paraphrases, "hard_negatives": negatives, "generated": generated}, indent=2)
        )


if __name__ == "__main__":
    main()
