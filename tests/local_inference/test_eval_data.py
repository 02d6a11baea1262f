"""The labelled evaluation set is well-formed, and bench.local_eval runs end to end (on the tiny model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.local_eval import KINDS, clean, evaluate, json_equal, load_items


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_at_least_50_unique_items(kind: str) -> None:
    items = load_items(kind)
    assert len(items) >= 50
    assert len({item["id"] for item in items}) == len(items)
    assert len({item["prompt"] for item in items}) == len(items)


def test_classification_gold_is_one_of_the_labels() -> None:
    for item in load_items("classification"):
        assert len(item["labels"]) >= 2
        assert item["gold"] in item["labels"], item["id"]


def test_extraction_gold_matches_its_pattern_and_is_in_the_text() -> None:
    for item in load_items("extraction"):
        assert re.fullmatch(item["pattern"], item["gold"]), item["id"]
        assert item["gold"] in item["prompt"], item["id"]


def test_formatting_checks_are_known() -> None:
    for item in load_items("formatting"):
        assert item["check"] in ("exact", "json"), item["id"]
        if item["check"] == "json":
            assert json_equal(json.dumps(item["gold"]), item["gold"])


def test_answer_cleaning() -> None:
    assert clean(' "HELLO" ') == "HELLO"
    assert clean('```json\n["a", "b"]\n```') == '["a", "b"]'
    assert json_equal('```json\n{"name": "Bob", "age": 42}\n```', {"name": "Bob", "age": 42})
    assert not json_equal("not json", ["a"])


async def test_evaluation_runs_on_a_model(tiny_model_dir: Path) -> None:
    results = await evaluate(tiny_model_dir, intra_threads=1)
    assert [r.kind for r in results] == list(KINDS)
    for result, kind in zip(results, KINDS, strict=True):
        assert result.total == len(load_items(kind))
        assert 0.0 <= result.accuracy <= 1.0
        assert len(result.failures) == result.total - result.correct


def test_threshold_keeps_confident_answers() -> None:
    from bench.local_eval import KindResult

    result = KindResult("classification", confidences=[(0.95, True), (0.75, False), (0.55, True), (0.4, False)])
    assert result.at_threshold(0.9) == (1, 1)
    assert result.at_threshold(0.7) == (2, 1)
    assert result.at_threshold(0.5) == (3, 2)
    assert result.at_threshold(0.0) == (4, 2)
