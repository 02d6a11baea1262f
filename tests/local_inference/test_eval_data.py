"""The evaluation sets are well-formed and frozen, and bench.local_eval scores, calibrates and runs end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from bench.local_eval import KINDS, auc, calibrate, is_right, load, report, run_split, served
from bench.local_eval_set import DATA_DIR as SET_DIR
from bench.local_eval_set import build, render


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_enough_items_templates_and_a_disjoint_test_split(kind: str) -> None:
    tune, test = load("tune", kind), load("test", kind)
    assert len(test) >= 300 and len(tune) + len(test) >= 150
    tune_templates = {item["template"] for item in tune}
    test_templates = {item["template"] for item in test}
    assert len(tune_templates | test_templates) >= 10
    assert not tune_templates & test_templates  # split by template: the test tasks are unseen while tuning
    assert len({item["id"] for item in tune + test}) == len(tune) + len(test)


def test_the_committed_splits_are_exactly_what_the_seed_generates() -> None:
    for (split, kind), items in build().items():
        assert (SET_DIR / split / f"{kind}.jsonl").read_text(encoding="utf-8") == render(items), (split, kind)


@pytest.mark.parametrize("split", ["tune", "test", "legacy"])
def test_gold_answers_satisfy_their_own_constraints(split: str) -> None:
    for item in load(split, "classification"):
        assert len(set(item["labels"])) == len(item["labels"]) >= 2 and item["gold"] in item["labels"], item["id"]
    for item in load(split, "extraction"):
        if "pattern" in item:
            assert re.fullmatch(item["pattern"], item["gold"]), item["id"]
        assert item["gold"] in item["prompt"], item["id"]  # extraction copies from the input
    for item in load(split, "formatting"):
        assert item["check"] in ("exact", "json"), item["id"]
        if "pattern" in item:
            assert re.fullmatch(item["pattern"], item["gold"]), item["id"]
        if "schema" in item:
            jsonschema.validate(item["gold"], item["schema"])
        assert is_right(json.dumps(item["gold"]) if item["check"] == "json" else item["gold"], item)


def test_the_legacy_set_keeps_its_161_items() -> None:
    assert sum(len(load("legacy", kind)) for kind in KINDS) == 161


def test_judging() -> None:
    json_item = {"check": "json", "gold": {"a": 1}}
    assert is_right('{"a": 1}', json_item) and is_right('{"a":1.0}', json_item)
    assert not is_right("not json", json_item)
    assert is_right(" Lyon ", {"check": "exact", "gold": "Lyon"})
    assert not is_right("lyon", {"check": "exact", "gold": "Lyon"})


def test_threshold_calibration_keeps_precision_on_the_rows_it_saw() -> None:
    rows = [(0.99, True)] * 60 + [(0.9, True)] * 30 + [(0.9, False)] * 1 + [(0.5, True)] * 5 + [(0.4, False)] * 10
    threshold = calibrate(rows)
    kept, right = served(rows, threshold)
    assert right / kept >= 0.97
    assert threshold == 0.5  # the lowest that keeps 97%: at 0.5, 95 of 96 are right; at 0.4, 95 of 106
    assert served(rows, 0.0) == (len(rows), 95)
    assert calibrate([(0.8, False), (0.6, True)]) == 1.0  # no threshold reaches 97%: serve only certain answers
    assert auc([(0.9, True), (0.1, False)]) == 1.0 and auc([(0.5, True), (0.5, False)]) == 0.5


async def test_the_benchmark_runs_end_to_end_on_a_model(tiny_model_dir: Path) -> None:
    results = await run_split(tiny_model_dir, "legacy", intra_threads=1)
    assert {kind: len(scored) for kind, scored in results.items()} == {k: len(load("legacy", k)) for k in KINDS}
    methods = {s.method for scored in results.values() for s in scored}
    assert {"score", "exact_match", "guided"} <= methods
    exact = [s for s in results["extraction"] if s.method == "exact_match"]
    assert exact and all(s.confidences["mean_guided"] == 1.0 for s in exact)
    thresholds: dict[str, dict[str, object]] = {}
    summary = report(results, thresholds, tune=True)
    assert set(thresholds) == set(KINDS)
    for kind in KINDS:
        served_here = summary[kind]["served"]
        assert served_here["threshold"] == thresholds[kind]["threshold"]
        if served_here["threshold"] < 1.0:  # a threshold was found: on the rows it was fitted to, it holds 97%
            assert served_here["precision"] >= 0.97
