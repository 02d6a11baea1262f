"""Cache verifier: candidates measured on the generated pairs, the classifier trained on the tune split, results on
the frozen test split.

    python -m bench.cache_verifier            # measure the candidates on the tune split only
    python -m bench.cache_verifier --test     # and score the frozen test split once, at the thresholds from tune
    python -m bench.cache_verifier --write    # also retrain services/cache/core/verifier_model.json from tune

Each pair is judged as the cache judges one candidate: the stored question and the query, their cosine, and the
verifier's parts. Candidates: the embedding alone; the old word-list guards (rerank.py); exact terms and reversed
relations with the cosine; the alignment classifier alone; exact terms, reversed relations and the classifier
(the verifier). Thresholds are picked on the tune split only, for at most `--target` false hits on out-of-fold
predictions (leave one kind of meaning change out, so the classifier is always scored on a kind it did not see);
the test split is then scored once with those thresholds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.cache_pairs import load
from bench.cache_word_guards import features as guard_features
from bench.cache_word_guards import veto
from services.cache.api import (
    FEATURE_SIGNS,
    FEATURES,
    MODEL_FILE,
    Analysis,
    PairModel,
    align,
    analyse,
    mismatch,
    pair_features,
    structure_refusal,
)
from shared.embedding.convert import ensure_minilm
from shared.embedding.encoder import SentenceEncoder

Floats = npt.NDArray[np.float64]


class Analyses:
    """Embeds and analyses each distinct text once."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self._encoder = encoder
        self.vectors: dict[str, npt.NDArray[np.float32]] = {}
        self.analyses: dict[str, Analysis] = {}

    def prime(self, texts: Sequence[str]) -> None:
        todo = sorted({t for t in texts if t not in self.analyses})
        for start in range(0, len(todo), 64):
            chunk = todo[start : start + 64]
            vectors, tokens = self._encoder.encode(chunk)
            for text, vector, states in zip(chunk, vectors, tokens, strict=True):
                self.vectors[text] = vector
                self.analyses[text] = analyse(text, states)


@dataclass
class Table:
    labels: npt.NDArray[np.int64]
    kinds: list[str]
    cosine: Floats
    features: Floats
    exact: list[str]
    swapped: npt.NDArray[np.bool_]
    guard_veto: npt.NDArray[np.bool_]
    structure: dict[str, npt.NDArray[np.bool_]]  # mode -> the alignment allows the pair


def table(rows: list[dict[str, object]], analyses: Analyses) -> Table:
    analyses.prime([str(r["stored"]) for r in rows] + [str(r["query"]) for r in rows])
    cosine, feats, exact, swapped, guard = [], [], [], [], []
    structure: dict[str, list[bool]] = {"strict": [], "balanced": []}
    for row in rows:
        stored, query = str(row["stored"]), str(row["query"])
        cos = float(analyses.vectors[stored] @ analyses.vectors[query])
        alignment = align(analyses.analyses[query], analyses.analyses[stored])
        cosine.append(cos)
        feats.append(pair_features(alignment, cos))
        exact.append(mismatch(analyses.analyses[query].terms, analyses.analyses[stored].terms))
        swapped.append(alignment.swapped)
        for mode, allowed in structure.items():
            allowed.append(not structure_refusal(alignment, mode))
        guard.append(veto(guard_features(query), guard_features(stored)) is not None)
    return Table(
        labels=np.array([int(r["label"]) for r in rows]),  # type: ignore[call-overload]
        kinds=[str(r["kind"]) for r in rows],
        cosine=np.array(cosine),
        features=np.stack(feats),
        exact=exact,
        swapped=np.array(swapped),
        guard_veto=np.array(guard),
        structure={mode: np.array(allowed) for mode, allowed in structure.items()},
    )


def fit(features: Floats, labels: npt.NDArray[np.int64], l2: float = 1e-3, steps: int = 3000) -> PairModel:
    """Logistic regression under sign constraints (FEATURE_SIGNS), by projected gradient descent; classes
    weighted equally, a little L2."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-6
    x = (features - mean) / scale
    y = labels.astype(np.float64)
    sample = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9)) / len(y)
    signs = np.array([FEATURE_SIGNS[name] for name in FEATURES], dtype=np.float64)
    w = np.zeros(x.shape[1])
    bias = 0.0
    rate = 0.5
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + bias)))
        error = sample * (p - y)
        w -= rate * (x.T @ error + l2 * w)
        bias -= rate * float(error.sum())
        w = np.where(w * signs < 0, 0.0, w)  # project onto the allowed signs
    return PairModel(mean.tolist(), scale.tolist(), w.tolist(), bias)


def out_of_fold(t: Table) -> Floats:
    """Classifier probabilities on the tune split, each kind scored by a model trained without it."""
    scores = np.zeros(len(t.labels))
    kinds = np.array(t.kinds)
    for kind in sorted(set(t.kinds)):
        held = kinds == kind
        model = fit(t.features[~held], t.labels[~held])
        scores[held] = model.probability(t.features[held])
    return scores


def threshold_for(
    scores: Floats, allowed: npt.NDArray[np.bool_], labels: npt.NDArray[np.int64], target: float
) -> float:
    """The lowest threshold at which the share of negatives accepted is at most `target`."""
    negatives = np.sort(scores[(labels == 0) & allowed])[::-1]
    total = int((labels == 0).sum())
    budget = int(target * total)
    if budget >= len(negatives):
        return float(scores.min())
    return float(np.nextafter(negatives[budget], np.inf))


def rates(accept: npt.NDArray[np.bool_], t: Table) -> tuple[float, float, Counter[str]]:
    negatives = t.labels == 0
    false_by_kind = Counter(k for k, a, n in zip(t.kinds, accept, negatives, strict=True) if a and n)
    return float(accept[negatives].mean()), float(accept[~negatives].mean()), false_by_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--target", type=float, default=0.005, help="false-hit share to allow on tune (strict)")
    parser.add_argument("--balanced-target", type=float, default=0.02, help="false-hit share on tune (balanced)")
    parser.add_argument("--write", action="store_true", help="retrain and write the verifier model from tune")
    parser.add_argument("--test", action="store_true", help="score the frozen test split")
    args = parser.parse_args()
    encoder = SentenceEncoder(ensure_minilm(), compute_type=args.compute_type, intra_threads=2)
    analyses = Analyses(encoder)
    started = time.perf_counter()
    tune = table(load("tune"), analyses)
    test = table(load("test"), analyses) if args.test else tune
    if not args.test:
        print("the test columns below repeat the tune split (in-sample classifier): --test scores the test split")
    print(f"encoded and analysed {len(analyses.analyses):,} texts in {time.perf_counter() - started:.0f} s")

    rules_tune = np.array([not e for e in tune.exact]) & ~tune.swapped
    rules_test = np.array([not e for e in test.exact]) & ~test.swapped
    oof = out_of_fold(tune)
    model = fit(tune.features, tune.labels)
    test_scores = model.probability(test.features)
    everything_tune = np.ones(len(tune.labels), dtype=bool)
    candidates: dict[str, tuple[Floats, npt.NDArray[np.bool_], Floats, npt.NDArray[np.bool_]]] = {
        "embedding only (cosine)": (tune.cosine, everything_tune, test.cosine, np.ones(len(test.labels), bool)),
        "word-list guards (rerank.py) + cosine": (tune.cosine, ~tune.guard_veto, test.cosine, ~test.guard_veto),
        "exact terms + reversed relation + cosine": (tune.cosine, rules_tune, test.cosine, rules_test),
        "alignment classifier alone": (oof, everything_tune, test_scores, np.ones(len(test.labels), bool)),
        "exact terms + reversed relation + classifier": (oof, rules_tune, test_scores, rules_test),
    }
    for mode in ("strict", "balanced"):
        tune_allowed = rules_tune & tune.structure[mode]
        test_allowed = rules_test & test.structure[mode]
        candidates[f"exact terms + reversed relation + alignment structure ({mode})"] = (
            np.ones(len(tune.labels)),
            tune_allowed,
            np.ones(len(test.labels)),
            test_allowed,
        )
    print(f"\nfeatures: {', '.join(FEATURES)}; weights {np.round(model.weights, 2).tolist()}, bias {model.bias:.2f}")
    print(f"tune: {len(tune.labels)} pairs; test: {len(test.labels)} pairs ({int((test.labels == 0).sum())} negatives)")
    print("\n| candidate | target | threshold (tune) | tune: false hits / positives hit | test: false hits ", end="")
    print("| test: positives hit |")
    print("|---|---|---|---|---|---|")
    by_kind: dict[str, Counter[str]] = {}
    for name, (tune_scores, tune_allowed, test_scores_, test_allowed) in candidates.items():
        for target in (args.target, args.balanced_target):
            structural = "structure" in name
            threshold = 0.0 if structural else threshold_for(tune_scores, tune_allowed, tune.labels, target)
            tune_fp, tune_tp, _ = rates(tune_allowed & (tune_scores >= threshold), tune)
            test_fp, test_tp, kinds = rates(test_allowed & (test_scores_ >= threshold), test)
            shown_target, shown_threshold = ("-", "-") if structural else (f"{target:.1%}", f"{threshold:.3f}")
            print(
                f"| {name} | {shown_target} | {shown_threshold} | {tune_fp:.2%} / {tune_tp:.1%} "
                f"| {test_fp:.2%} ({round(test_fp * (test.labels == 0).sum())}) | {test_tp:.1%} |"
            )
            if structural:  # no threshold: the rules alone decide
                by_kind[name] = kinds
                break
    for name, kinds in by_kind.items():
        print(f"test false hits by kind, {name}: {dict(kinds.most_common())}")
    refusals = Counter(e or ("reversed_relation" if s else "") for e, s in zip(test.exact, test.swapped, strict=True))
    negatives = Counter(
        e or ("reversed_relation" if s else "")
        for e, s, y in zip(test.exact, test.swapped, test.labels, strict=True)
        if y == 0
    )
    print(f"test refusals by rule (all pairs): {dict(refusals)}; of them on negatives: {dict(negatives)}")
    if args.write:
        MODEL_FILE.write_text(
            json.dumps(
                {
                    "trained_on": "bench/cache_pairs_tune.jsonl (python -m bench.cache_verifier --write)",
                    "features": list(FEATURES),
                    "mean": model.mean.tolist(),
                    "scale": model.scale.tolist(),
                    "weights": model.weights.tolist(),
                    "bias": model.bias,
                    # The structural test gates; the score is what reported bad hits raise a namespace's bar on.
                    "thresholds": {"strict": 0.0, "balanced": 0.0},
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
