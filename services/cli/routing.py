"""`bourse routing train|evaluate`: the difficulty predictor of quality-aware routing (docs/router-quality.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_WEIGHTS = Path("services/router/data/quality_predictor.json")
DEFAULT_EMBEDDING_TOKENS = 64


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("routing", help="Train and evaluate the difficulty predictor of quality routing.")
    actions = parser.add_subparsers(dest="routing_command", required=True, metavar="ACTION")
    train = actions.add_parser("train", help="Fit the predictor on labelled prompts and write its weights file.")
    train.add_argument(
        "labels", type=Path, help='JSON lines {"prompt", "cheap_correct", "strong_correct"[, "subject"]}'
    )
    train.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help=f"weights file (default {DEFAULT_WEIGHTS})")
    train.add_argument("--embedding-tokens", type=int, default=DEFAULT_EMBEDDING_TOKENS, help="encoder token cut")
    train.add_argument("--cache-dir", type=Path, default=Path("var/quality"), help="embedding cache (not committed)")
    train.set_defaults(func=run_train)
    evaluate = actions.add_parser("evaluate", help="Score labelled prompts; print APGR, CPT(50%%), CPT(80%%).")
    evaluate.add_argument("labels", type=Path, help='JSON lines {"prompt", "cheap_correct", "strong_correct"}')
    evaluate.add_argument("--scores-out", type=Path, default=None, help='write {"prompt", "score"} lines here')
    evaluate.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="predictor weights file")
    evaluate.set_defaults(func=run_evaluate)


def _encoder() -> Any:
    from shared.embedding.convert import ensure_minilm
    from shared.embedding.encoder import SentenceEncoder

    return SentenceEncoder(ensure_minilm(), compute_type="int8", intra_threads=1)


def run_train(args: argparse.Namespace) -> int:
    import msgspec
    import numpy as np

    from services.router.api import (
        EXCLUDED_SUBJECTS,
        LabelsError,
        cached_embeddings,
        choose,
        fit_predictor,
        matrices,
        read_labels,
    )

    try:
        rows = [row for row in read_labels(args.labels) if row.subject not in EXCLUDED_SUBJECTS]
    except LabelsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    encoder = _encoder()
    embeddings = cached_embeddings(
        [r.prompt for r in rows], encoder, max_tokens=args.embedding_tokens, cache_dir=args.cache_dir
    )
    data = matrices(rows, embeddings)
    everything = list(range(len(rows)))
    encoder_name = encoder.name.rsplit("-", 1)[0]
    (l2, blend), scores = choose(
        data, everything, encoder=encoder_name, dims=encoder.dimensions, cut=args.embedding_tokens, seed=1
    )
    print("leave-subjects-out CV, mean APGR by (L2, length blend):")
    for (k2, kb), value in scores.items():
        print(f"  {k2:>7g} {kb:>5g}  {value:.3f}")
    weights = fit_predictor(
        data.features,
        data.cheap,
        data.strong,
        l2=l2,
        encoder=encoder_name,
        embedding_dimensions=encoder.dimensions,
        embedding_max_tokens=args.embedding_tokens,
        length_blend=blend,
        trained_on=f"{args.labels.name}: {len(rows)} prompts, {len(set(data.subjects))} subjects, L2 {l2:g},"
        f" length blend {blend:g}",
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(msgspec.json.format(msgspec.json.encode(weights), indent=1) + b"\n")
    gap = float(np.mean(data.strong - data.cheap))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); training gap strong - cheap {gap:.3f}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    import msgspec

    from services.router.api import DifficultyPredictor, LabelsError, PromptScorer, read_labels, routing_metrics

    try:
        rows = read_labels(args.labels)
        predictor = DifficultyPredictor.load(args.weights)
    except (LabelsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    scorer = PromptScorer(predictor, _encoder() if predictor.embedding_dimensions else None)
    scores = [scorer.predict(row.prompt).score for row in rows]
    if args.scores_out is not None:
        encoder = msgspec.json.Encoder()
        with args.scores_out.open("wb") as out:
            for row, score in zip(rows, scores, strict=True):
                out.write(encoder.encode({"prompt": row.prompt, "score": round(score, 6)}) + b"\n")
    try:
        metrics = routing_metrics(scores, [r.cheap_correct for r in rows], [r.strong_correct for r in rows])
    except ValueError as error:
        print(f"error: {args.labels}: {error}", file=sys.stderr)
        return 2
    print(f"prompts          {metrics.prompts}")
    print(f"cheap accuracy   {metrics.cheap_accuracy:.3f}")
    print(f"strong accuracy  {metrics.strong_accuracy:.3f}")
    print(f"APGR             {metrics.apgr:.3f}   (random router 0.500)")
    print(f"CPT(50%)         {metrics.cpt50 * 100:.1f}%")
    print(f"CPT(80%)         {metrics.cpt80 * 100:.1f}%")
    return 0
