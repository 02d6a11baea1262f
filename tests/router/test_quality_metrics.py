"""APGR / CPT, the frozen folds and the labels reader of the difficulty predictor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.router.core.quality.folds import EXCLUDED_SUBJECTS, FOLD_SEED, fold_masks, subject_folds
from services.router.core.quality.labels import LabelsError, parse_labels, read_labels
from services.router.core.quality.metrics import routing_metrics

SUBJECTS = [f"subject_{i:02d}" for i in range(46)] + ["high_school_mathematics"]


def _labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cheap = rng.random(n) < 0.6
    strong = cheap | (rng.random(n) < 0.5)
    return cheap, strong


def test_constant_score_is_exactly_the_random_router() -> None:
    cheap, strong = _labels(500, 1)
    metrics = routing_metrics(np.zeros(500), cheap, strong)
    assert metrics.apgr == pytest.approx(0.5)
    assert metrics.cpt50 == pytest.approx(0.5, abs=0.002)


def test_oracle_ranks_gains_first_and_reverse_oracle_last() -> None:
    cheap, strong = _labels(800, 2)
    gain = strong.astype(float) - cheap.astype(float)
    best = routing_metrics(gain, cheap, strong)
    worst = routing_metrics(-gain, cheap, strong)
    assert best.apgr > 0.9 and worst.apgr < 0.1
    assert best.cpt50 < 0.2 and best.cpt80 < 0.3
    assert best.strong_accuracy == pytest.approx(strong.mean())
    assert best.cheap_accuracy == pytest.approx(cheap.mean())


def test_no_gap_is_an_error() -> None:
    with pytest.raises(ValueError, match="no gap"):
        routing_metrics([0.1, 0.2], [True, False], [True, False])


def test_folds_are_frozen_cover_every_usable_subject_once_and_exclude_the_bad_one() -> None:
    folds = subject_folds(SUBJECTS)
    assert FOLD_SEED == 20261203 and len(folds) == 5
    flat = [s for fold in folds for s in fold]
    assert sorted(flat) == sorted(set(SUBJECTS) - EXCLUDED_SUBJECTS)
    assert all(len(fold) >= 8 for fold in folds)
    assert subject_folds(reversed(SUBJECTS)) == folds  # order of the input does not matter
    rows = SUBJECTS * 2
    for (train, test), held in zip(fold_masks(rows, folds), folds, strict=True):
        assert {rows[i] for i in test} == set(held)
        assert not {rows[i] for i in train} & (set(held) | EXCLUDED_SUBJECTS)


def test_the_shipped_data_folds_are_the_documented_ones() -> None:
    data = Path(__file__).resolve().parents[3] / "shared" / "data" / "routing" / "mmlu_mixtral_gpt4.jsonl"
    if not data.is_file():
        pytest.skip("routing labels not present")
    subjects = {json.loads(line)["subject"] for line in data.open()}
    folds = subject_folds(subjects)
    assert [len(f) for f in folds] == [10, 9, 9, 9, 9]
    assert "moral_scenarios" in folds[3] and "professional_law" in folds[0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "q", "cheap_correct": true}', "line 2: missing field(s) strong_correct"),
        ('{"prompt": "q", "cheap_correct": 1, "strong_correct": true}', "line 2: cheap_correct must be true or false"),
        ('{"prompt": "  ", "cheap_correct": true, "strong_correct": true}', "line 2: prompt is empty"),
        ('{"prompt": 3, "cheap_correct": true, "strong_correct": true}', "line 2: prompt must be a string"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ("{not json", "line 2: not valid JSON"),
    ],
)
def test_bad_label_lines_name_the_line(line: str, message: str) -> None:
    good = '{"prompt": "fine", "cheap_correct": false, "strong_correct": true, "extra": 1}'
    with pytest.raises(LabelsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_labels([good, line], source="x.jsonl")


def test_labels_file_reads_and_ignores_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text('{"prompt": "a", "cheap_correct": true, "strong_correct": false, "subject": "s", "x": 0}\n\n')
    (row,) = read_labels(path)
    assert (row.prompt, row.cheap_correct, row.strong_correct, row.subject) == ("a", True, False, "s")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(LabelsError, match="no labelled prompts"):
        read_labels(empty)
    with pytest.raises(LabelsError, match="cannot read"):
        read_labels(tmp_path / "missing.jsonl")
