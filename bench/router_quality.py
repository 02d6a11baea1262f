"""Difficulty predictor on held-out MMLU subjects: every frozen fold against the prompt-length baseline.

    python -m bench.router_quality [LABELS.jsonl] [--embedding-tokens 64]

For each of the five frozen leave-subjects-out folds (services/router/core/quality/folds.py) the regularisation
and the length blend are chosen by inner leave-subjects-out CV on the fold's training subjects only, the two
heads are fitted on those subjects, and the held-out subjects are scored. The held-out figures are never used
to choose anything.
Also runs the same protocol with surface features only (no embedding), to show what the embedding adds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from services.router.api import (
    EXCLUDED_SUBJECTS,
    Matrices,
    cached_embeddings,
    choose,
    evaluate,
    fit,
    fold_masks,
    matrices,
    read_labels,
    routing_metrics,
    subject_folds,
)

DEFAULT_LABELS = Path("../shared/data/routing/mmlu_mixtral_gpt4.jsonl")


def run_folds(data: Matrices, *, dims: int, cut: int, label: str) -> list[tuple[float, float, float]]:
    folds = subject_folds(data.subjects)
    print(f"\n{label}")
    print("fold  subjects prompts  L2     blend  APGR  CPT50  CPT80 | length APGR  CPT50  CPT80 | beats length")
    out = []
    for number, (train, test) in enumerate(fold_masks(data.subjects, folds)):
        (l2, blend), _ = choose(data, train, encoder="all-minilm-l6-v2", dims=dims, cut=cut, seed=number + 1)
        predictor = fit(data, train, l2, encoder="all-minilm-l6-v2", dims=dims, cut=cut, length_blend=blend)
        ours = evaluate(predictor, data, test)
        index = np.asarray(test)
        length = routing_metrics(data.lengths[index], data.cheap[index], data.strong[index])
        out.append((ours.apgr, ours.cpt50, length.apgr))
        print(
            f"{number:>4}  {len(folds[number]):>8} {len(test):>7}  {l2:<6g} {blend:<5g}"
            f" {ours.apgr:6.3f} {ours.cpt50:6.1%} {ours.cpt80:6.1%} |"
            f" {length.apgr:11.3f} {length.cpt50:6.1%} {length.cpt80:6.1%} |"
            f" {'yes' if ours.apgr > length.apgr else 'NO'}"
        )
    mean = np.mean(out, axis=0)
    print(f"mean  APGR {mean[0]:.3f}  CPT50 {mean[1]:.1%}  | length APGR {mean[2]:.3f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("labels", nargs="?", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--embedding-tokens", type=int, default=64)
    args = parser.parse_args()
    from shared.embedding.convert import ensure_minilm
    from shared.embedding.encoder import SentenceEncoder

    rows = [row for row in read_labels(args.labels) if row.subject not in EXCLUDED_SUBJECTS]
    started = time.perf_counter()
    encoder = SentenceEncoder(ensure_minilm(), compute_type="int8", intra_threads=1)
    embeddings = cached_embeddings([r.prompt for r in rows], encoder, max_tokens=args.embedding_tokens)
    print(f"{len(rows)} prompts, embeddings ready in {time.perf_counter() - started:.1f} s")
    for subjects in subject_folds(r.subject for r in rows):
        print("  held out: " + ", ".join(subjects))
    run_folds(matrices(rows, embeddings), dims=encoder.dimensions, cut=args.embedding_tokens, label="embedding + text")
    run_folds(matrices(rows, None), dims=0, cut=0, label="text features only")


if __name__ == "__main__":
    main()
