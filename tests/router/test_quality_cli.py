"""`bourse routing evaluate` and `train`: outputs, the request-time code path, and bad input naming the line."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
import pytest

from services.cli.__main__ import main
from services.router.core.quality.dataset import matrices
from services.router.core.quality.labels import parse_labels
from services.router.core.quality.predictor import DifficultyPredictor
from services.router.core.quality.scorer import PromptScorer
from services.router.core.quality.training import fit_predictor
from services.router.quality_setup import default_predictor_path

PROMPTS = [
    ("What is the capital of France?", True, True),
    ("Compute 4817 * 392 - 17^3 and give the remainder modulo 97.", False, True),
    ("Which planet is known as the red planet?\nA. Mars\nB. Venus\nC. Jupiter\nD. Saturn\nAnswer:", True, True),
    ("Let f(x) = x^3 - 6x^2 + 11x - 6. Find every root and prove there are no others.", False, True),
    ("Name a primary colour.", True, True),
    ("Solve for x: 3(x - 2) + 5 = 2(x + 7) - 1, then check the answer.", False, False),
    ("If a train covers 180 km in 2.5 hours, what is its mean speed in m/s?", False, True),
    ("Who wrote Hamlet?", True, False),
]


def _labels(path: Path) -> Path:
    path.write_text(
        "".join(json.dumps({"prompt": p, "cheap_correct": c, "strong_correct": s}) + "\n" for p, c, s in PROMPTS)
    )
    return path


def _text_only_weights(path: Path) -> Path:
    rows = parse_labels([json.dumps({"prompt": p, "cheap_correct": c, "strong_correct": s}) for p, c, s in PROMPTS])
    data = matrices(rows, None)
    weights = fit_predictor(
        data.features,
        data.cheap,
        data.strong,
        l2=1.0,
        encoder="",
        embedding_dimensions=0,
        embedding_max_tokens=0,
        length_blend=0.25,
    )
    path.write_bytes(msgspec.json.encode(weights))
    return path


def test_evaluate_prints_the_metrics_and_writes_one_score_per_prompt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = _text_only_weights(tmp_path / "w.json")
    scores = tmp_path / "scores.jsonl"
    assert (
        main(
            [
                "routing",
                "evaluate",
                str(_labels(tmp_path / "l.jsonl")),
                "--scores-out",
                str(scores),
                "--weights",
                str(weights),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for label in (
        "APGR",
        "random router 0.500",
        "CPT(50%)",
        "CPT(80%)",
        "cheap accuracy   0.500",
        "strong accuracy  0.750",
    ):
        assert label in out
    lines = [json.loads(line) for line in scores.read_text().splitlines()]
    assert [line["prompt"] for line in lines] == [p for p, _, _ in PROMPTS]
    predictor = DifficultyPredictor.load(weights)
    scorer = PromptScorer(predictor, None)
    for line in lines:
        assert line["score"] == pytest.approx(scorer.predict(line["prompt"]).score, abs=1e-6)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"prompt": "a", "cheap_correct": true, "strong_correct": false}\n{"prompt": "b", "cheap_correct": true}\n',
            "l.jsonl line 2: missing field(s) strong_correct",
        ),
        (
            '{"prompt": "a", "cheap_correct": "yes", "strong_correct": false}\n',
            "l.jsonl line 1: cheap_correct must be true or false",
        ),
        ('\n\n{"prompt": "", "cheap_correct": true, "strong_correct": false}\n', "l.jsonl line 3: prompt is empty"),
    ],
)
def test_bad_labels_stop_evaluate_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    labels = tmp_path / "l.jsonl"
    labels.write_text(content)
    weights = _text_only_weights(tmp_path / "w.json")
    assert main(["routing", "evaluate", str(labels), "--weights", str(weights)]) == 2
    assert message in capsys.readouterr().err


def test_a_corrupt_weights_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = tmp_path / "w.json"
    weights.write_text('{"version": 1}')
    assert main(["routing", "evaluate", str(_labels(tmp_path / "l.jsonl")), "--weights", str(weights)]) == 2
    assert "cannot load predictor weights" in capsys.readouterr().err


@pytest.mark.model
def test_the_shipped_predictor_scores_like_its_batch_form() -> None:
    from shared.embedding.convert import ensure_minilm
    from shared.embedding.encoder import SentenceEncoder

    predictor = DifficultyPredictor.load(default_predictor_path())
    scorer = PromptScorer(predictor, SentenceEncoder(ensure_minilm(), compute_type="int8", intra_threads=1))
    texts = [p for p, _, _ in PROMPTS]
    embeddings = scorer.embed(texts)
    assert embeddings is not None
    features = np.stack([predictor.features(t, e) for t, e in zip(texts, embeddings, strict=True)])
    batch = predictor.scores(features)
    single = [scorer.predict(t).score for t in texts]
    assert single == pytest.approx(list(batch), abs=1e-4)
    assert len(set(np.round(batch, 6))) == len(texts)
