"""The generated pair benchmark is frozen: the committed files are what the seed gives, and no test template or
test filler word is shared with the tune split."""

from __future__ import annotations

import json
import re

from bench.cache_pairs import GRAMMAR, OUTPUT, TEMPLATES, encode, generate


def test_committed_splits_are_what_the_seed_gives() -> None:
    pairs = generate()
    for name, rows in pairs.items():
        assert OUTPUT[name].read_text(encoding="utf-8") == encode(rows), f"{OUTPUT[name]} changed after freezing"


def test_sizes_and_kinds() -> None:
    test = generate()["test"]
    negatives = [r for r in test if r["label"] == 0]
    assert len(negatives) >= 2000
    assert len(test) - len(negatives) >= 1000
    assert len({r["kind"] for r in negatives}) >= 15


def test_no_template_or_filler_word_crosses_the_split() -> None:
    pairs = generate()
    assert not {r["template"] for r in pairs["tune"]} & {r["template"] for r in pairs["test"]}
    spec = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    words = re.compile(r"[a-z]+")
    fillers: set[str] = set()
    for kind in spec["kinds"].values():
        for item in [*kind.get("vocab", []), kind.get("context", [])]:
            for value in item if isinstance(item, list) else [item]:
                fillers |= set(words.findall(value.lower())) - GRAMMAR
    seen_in_tune = {w for r in pairs["tune"] for t in (r["stored"], r["query"]) for w in words.findall(t.lower())}
    seen_in_test = {w for r in pairs["test"] for t in (r["stored"], r["query"]) for w in words.findall(t.lower())}
    # Filler words that reach the test split never occur in a tune pair (template words may: "convert", "what").
    test_only_fillers = (seen_in_test & fillers) - seen_in_tune
    shared_fillers = seen_in_test & fillers & seen_in_tune
    assert test_only_fillers
    template_words = {
        w for kind in spec["kinds"].values() for g in kind["templates"] for v in g for w in words.findall(v.lower())
    }
    assert shared_fillers <= template_words, sorted(shared_fillers - template_words)
