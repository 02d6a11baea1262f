"""Generated cache pairs: hard negatives and paraphrases from templates, split into tune and test by template and by
vocabulary, deterministic by seed.

    python -m bench.cache_pairs            # regenerate bench/cache_pairs_{tune,test}.jsonl and print the counts
    python -m bench.cache_pairs --check    # fail if the committed files differ from what the seed gives

Templates and vocabularies are in bench/cache_pair_templates.json: each kind of meaning change (conversion
direction, swapped operands, ordinals, antonyms, ...) lists template groups (paraphrases of one question) and the
words its slots take. The split is made before anything is generated: per kind, half of the template groups go
to test; every filler word is placed once, across all kinds, on one side (an item goes where its words already
are, else to the smaller side; an item with words on both sides is dropped); the politeness wrappers are split in
halves. Tune pairs are built from tune templates and tune words only, test pairs from test templates and test
words only, so no test template and no test filler word is seen while tuning.

A hard negative stores one question and asks another with the meaning changed (any hit is a false hit); a
positive stores one paraphrase and asks another (a hit is wanted), with reorderings, politeness wrappers,
contractions, typos and case changes applied to the asked side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "cache_pair_templates.json"
OUTPUT = {"tune": HERE / "cache_pairs_tune.jsonl", "test": HERE / "cache_pairs_test.jsonl"}
SEED = 16
NEGATIVES_PER_KIND = 160
POSITIVES_PER_KIND = 80
NUMBER_RANGE = range(2, 1000)

_WORDS = re.compile(r"[a-z0-9]+")
# Grammar shared by both splits (negation markers, titles, articles): the split is over the content vocabulary.
GRAMMAR = frozenset(["not", "never", "no", "dr", "a", "an", "the", "of", "per", "one", "only", "any"])
CONTRACTIONS = [
    ("do not", "don't"),
    ("does not", "doesn't"),
    ("is not", "isn't"),
    ("will not", "won't"),
    ("cannot", "can't"),
    ("should not", "shouldn't"),
    ("would not", "wouldn't"),
    ("could not", "couldn't"),
    ("What is", "What's"),
    ("what is", "what's"),
    ("How is", "How's"),
    ("it is", "it's"),
    ("I am", "I'm"),
    ("Who is", "Who's"),
]


@dataclass(frozen=True)
class Split:
    templates: list[list[str]]
    items: list[Any]  # per mode: pairs, category lists, numbers
    context: list[str]


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower())) - GRAMMAR


def _halves(rng: random.Random, values: list[Any]) -> tuple[list[Any], list[Any]]:
    shuffled = list(values)
    rng.shuffle(shuffled)
    cut = len(shuffled) // 2
    return shuffled[cut:], shuffled[:cut]  # tune, test


class WordSplit:
    """Assigns every filler word to tune or test once, across all kinds: an item (a pair, a sibling, a context
    word) goes to the split its words already belong to, else to the smaller split; an item whose words are
    already on both sides is dropped."""

    def __init__(self) -> None:
        self.side: dict[str, str] = {}
        self.size = {"tune": 0, "test": 0}

    def place(self, item: str) -> str | None:
        words = _words(item)
        sides = {self.side[w] for w in words if w in self.side}
        if len(sides) > 1:
            return None
        side = sides.pop() if sides else min(self.size, key=lambda s: (self.size[s], s))
        for word in words:
            self.side[word] = side
        self.size[side] += 1
        return side


def _place_all(rng: random.Random, words: WordSplit, items: list[Any]) -> dict[str, list[Any]]:
    placed: dict[str, list[Any]] = {"tune": [], "test": []}
    shuffled = list(items)
    rng.shuffle(shuffled)
    for item in shuffled:
        side = words.place(item if isinstance(item, str) else " ".join(item))
        if side is not None:
            placed[side].append(item)
    return placed


def split_kind(rng: random.Random, words: WordSplit, spec: dict[str, Any]) -> dict[str, Split]:
    tune_templates, test_templates = _halves(rng, spec["templates"])
    mode = spec["mode"]
    items: dict[str, list[Any]]
    if mode in ("swap", "pair"):
        items = _place_all(rng, words, spec["vocab"])
    elif mode == "sibling":
        per_category = [_place_all(rng, words, category) for category in spec["vocab"]]
        items = {side: [c[side] for c in per_category] for side in ("tune", "test")}
    else:  # numbers: a fixed partition of the range
        items = {
            "tune": [n for n in NUMBER_RANGE if (n * 7919) % 10 < 5],
            "test": [n for n in NUMBER_RANGE if (n * 7919) % 10 >= 5],
        }
    context = _place_all(rng, words, spec["context"]) if spec.get("context") else {"tune": [""], "test": [""]}
    return {
        "tune": Split(tune_templates, items["tune"], context["tune"]),
        "test": Split(test_templates, items["test"], context["test"]),
    }


def _fills(rng: random.Random, mode: str, items: list[Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Slot values of the stored question and of the changed one."""
    if mode == "swap":
        a, b = rng.choice(items)
        if rng.random() < 0.5:
            a, b = b, a
        return {"a": a, "b": b}, {"a": b, "b": a}
    if mode == "pair":
        a, b = rng.choice(items)
        if rng.random() < 0.5:
            a, b = b, a
        return {"a": a}, {"a": b}
    if mode == "sibling":
        category = rng.choice([c for c in items if len(c) >= 2])
        a, b = rng.sample(category, 2)
        return {"a": a}, {"a": b}
    if mode == "number":
        a, b = rng.sample(items, 2)
        return {"a": str(a)}, {"a": str(b)}
    a, b = rng.sample(items, 2)  # number_swap
    return {"a": str(a), "b": str(b)}, {"a": str(b), "b": str(a)}


def _typo(rng: random.Random, text: str) -> str:
    words = list(re.finditer(r"[A-Za-z]{5,}", text))
    if not words:
        return text
    match = rng.choice(words)
    word = match.group(0)
    at = rng.randrange(1, len(word) - 2)
    swapped, dropped = word[:at] + word[at + 1] + word[at] + word[at + 2 :], word[:at] + word[at + 1 :]
    changed = swapped if rng.random() < 0.5 else dropped
    return text[: match.start()] + changed + text[match.end() :]


def _contract(rng: random.Random, text: str) -> str:
    options = [(a, b) for a, b in CONTRACTIONS if a in text] + [(b, a) for a, b in CONTRACTIONS if b in text]
    if not options:
        return text
    a, b = rng.choice(options)
    return text.replace(a, b, 1)


def _case(rng: random.Random, text: str) -> str:
    choice = rng.randrange(3)
    if choice == 0:
        return text.lower()
    if choice == 1:
        return text.lower().rstrip("?.!")
    return text.upper() if len(text) < 40 else text.lower()


def transform(rng: random.Random, text: str, wrappers: dict[str, list[str]], *, typos: bool) -> tuple[str, list[str]]:
    applied = []
    if rng.random() < 0.3:
        text = _contract(rng, text)
        applied.append("contraction")
    if typos and rng.random() < 0.25:
        text = _typo(rng, text)
        applied.append("typo")
    if rng.random() < 0.3:
        if rng.random() < 0.5:
            prefix = rng.choice(wrappers["prefix"])
            text = prefix + text[:1].lower() + text[1:]
        else:
            text = text + rng.choice(wrappers["suffix"])
        applied.append("wrapper")
    if rng.random() < 0.25:
        text = _case(rng, text)
        applied.append("case")
    return text, applied


def generate(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    spec = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    # Every split is decided before any pair is generated.
    words = WordSplit()
    splits = {kind: split_kind(rng, words, kind_spec) for kind, kind_spec in sorted(spec["kinds"].items())}
    tune_prefix, test_prefix = _halves(rng, spec["wrappers"]["prefix"])
    tune_suffix, test_suffix = _halves(rng, spec["wrappers"]["suffix"])
    wrappers = {
        "tune": {"prefix": tune_prefix, "suffix": tune_suffix},
        "test": {"prefix": test_prefix, "suffix": test_suffix},
    }
    out: dict[str, list[dict[str, Any]]] = {"tune": [], "test": []}
    for kind, by_split in splits.items():
        mode = spec["kinds"][kind]["mode"]
        for name, split in by_split.items():
            rows = out[name]
            seen: set[tuple[str, str]] = set()
            for label, count in ((0, NEGATIVES_PER_KIND), (1, POSITIVES_PER_KIND)):
                made = attempts = 0
                while made < count and attempts < count * 50:
                    attempts += 1
                    group_index = rng.randrange(len(split.templates))
                    group = split.templates[group_index]
                    stored_fill, changed_fill = _fills(rng, mode, split.items)
                    context = rng.choice(split.context)
                    i = rng.randrange(len(group))
                    if label == 0:
                        j = i if rng.random() < 0.5 else rng.randrange(len(group))
                        stored = group[i].format(x=context, **stored_fill)
                        query = group[j].format(x=context, **changed_fill)
                        query, applied = transform(rng, query, wrappers[name], typos=False)
                    else:
                        j = rng.choice([k for k in range(len(group)) if k != i])
                        stored = group[i].format(x=context, **stored_fill)
                        query = group[j].format(x=context, **stored_fill)
                        query, applied = transform(rng, query, wrappers[name], typos=True)
                    if (stored, query) in seen or stored == query:
                        continue
                    seen.add((stored, query))
                    made += 1
                    template = f"{kind}/{spec['kinds'][kind]['templates'].index(group)}"
                    rows.append(
                        {
                            "kind": kind,
                            "template": template,
                            "label": label,
                            "stored": stored,
                            "query": query,
                            "transforms": applied,
                        }
                    )
    return out


def leaks(pairs: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """What of the test split was seen while tuning: template ids shared by both splits."""
    tune_templates = {p["template"] for p in pairs["tune"]}
    return {"test pairs from a tune template": sum(p["template"] in tune_templates for p in pairs["test"])}


def encode(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def load(split: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in OUTPUT[split].read_text(encoding="utf-8").splitlines() if line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    pairs = generate()
    for name, rows in pairs.items():
        text = encode(rows)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        kinds = len({r["kind"] for r in rows})
        negatives = sum(r["label"] == 0 for r in rows)
        print(f"{name}: {negatives} hard negatives over {kinds} kinds, {len(rows) - negatives} positives, {digest}")
        if args.check:
            if OUTPUT[name].read_text(encoding="utf-8") != text:
                print(f"{OUTPUT[name]} differs from the seed's output", file=sys.stderr)
                return 1
        else:
            OUTPUT[name].write_text(text, encoding="utf-8")
    print(leaks(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
