"""Writes the guided local-tier evaluation set: tune and test splits, by template, from a fixed seed.

    python -m bench.local_eval_set [--check]

Per kind (classification, extraction, formatting), the templates of bench/local_eval_templates.py are shuffled
with SEED and split: TEST_TEMPLATES of them go to the test split (>= 300 items), the rest to the tune split. The
test split was written and committed before any threshold or decoding choice was tuned, and is only reported
on. `--check` regenerates in memory and fails if the files on disk differ (the split is reproducible).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

from bench.local_eval_templates import KINDS, Template

DATA_DIR = Path(__file__).parent / "local_eval_data"
SEED = 17
TEST_TEMPLATES = 7
TEST_ITEMS = 310  # per kind, at least
TUNE_ITEMS_PER_TEMPLATE = 40


def split_templates(kind: str) -> tuple[list[str], list[str]]:
    """(tune, test) template names of a kind."""
    names = sorted(KINDS[kind])
    random.Random(f"{SEED}:{kind}:split").shuffle(names)
    return sorted(names[TEST_TEMPLATES:]), sorted(names[:TEST_TEMPLATES])


def make_items(kind: str, name: str, template: Template, count: int, split: str) -> list[dict[str, Any]]:
    rng = random.Random(f"{SEED}:{kind}:{name}:{split}")
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    tries = 0
    while len(items) < count:
        item = template(rng)
        tries += 1
        if item["prompt"] in seen and tries < count * 20:  # small vocabularies repeat once exhausted
            continue
        seen.add(item["prompt"])
        items.append({"id": f"{split}-{kind[:3]}-{name}-{len(items):03d}", "kind": kind, **item})
    return items


def build() -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for kind, templates in KINDS.items():
        tune, test = split_templates(kind)
        per_test = math.ceil(TEST_ITEMS / len(test))
        out[("test", kind)] = [it for n in test for it in make_items(kind, n, templates[n], per_test, "test")]
        out[("tune", kind)] = [
            it for n in tune for it in make_items(kind, n, templates[n], TUNE_ITEMS_PER_TEMPLATE, "tune")
        ]
    return out


def render(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the files differ from a fresh generation")
    args = parser.parse_args()
    differs = []
    for (split, kind), items in build().items():
        path = DATA_DIR / split / f"{kind}.jsonl"
        text = render(items)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differs.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        templates = sorted({item["template"] for item in items})
        print(f"{split:5} {kind:15} {len(items):4} items from {len(templates)} templates: {', '.join(templates)}")
    if differs:
        print("differs from a fresh generation: " + ", ".join(differs), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
