"""A task set unlike MMLU: arithmetic word problems, with labels built by a stated rule, scored by the predictor.

    python -m bench.router_quality_arithmetic [--out var/quality/arithmetic.jsonl] [--count 600]
    bourse routing evaluate var/quality/arithmetic.jsonl

The problems are generated from a fixed seed: free-text questions (no answer options) with 1 to 5 operations on
numbers of 1 to 5 digits. Labels follow a rule, not a model run: a problem's difficulty is its number of
operations plus the digits of its largest number, plus noise; the cheap model is right below one threshold, the
strong one below a higher one. So the strong model gains exactly on the mid-difficulty problems, and both fail
the hardest: the case the MMLU hint warns about. This tests whether the predictor's ranking carries over to
text of another shape; it says nothing about real model accuracy on arithmetic.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 20261203
NAMES = ("Ana", "Ben", "Chloe", "Dev", "Emre", "Fatima", "Goran", "Hana", "Ivan", "June")
ITEMS = ("apples", "boxes", "tickets", "litres of paint", "metres of cable", "books", "coins", "bricks")
STEPS = (
    ("buys {n} more {item}", lambda a, n: a + n),
    ("gives away {n} {item}", lambda a, n: a - n),
    ("doubles the number of {item}", lambda a, n: a * 2),
    ("splits the {item} into {n} equal groups and keeps one group", lambda a, n: a // n),
    ("receives {n} times as many {item} as they have", lambda a, n: a + a * n),
)


def problem(rng: random.Random) -> tuple[str, int, int]:
    """A question, its number of operations and the digits of its largest number."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    digits = rng.randint(1, 5)
    amount = rng.randint(10 ** (digits - 1), 10**digits - 1)
    sentences = [f"{name} has {amount} {item}."]
    operations = rng.randint(1, 5)
    largest = amount
    for _ in range(operations):
        text, _apply = rng.choice(STEPS)
        n = rng.randint(2, max(3, 10 ** rng.randint(1, digits) - 1))
        largest = max(largest, n)
        sentences.append(f"Then {name} {text.format(n=n, item=item)}.")
    sentences.append(f"How many {item} does {name} have at the end? Answer with a number.")
    return " ".join(sentences), operations, len(str(largest))


def labelled(count: int) -> list[dict[str, object]]:
    rng = random.Random(SEED)
    rows = []
    for _ in range(count):
        text, operations, digits = problem(rng)
        difficulty = operations + digits + rng.gauss(0.0, 1.0)
        rows.append({"prompt": text, "cheap_correct": difficulty < 5.0, "strong_correct": difficulty < 8.0})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("var/quality/arithmetic.jsonl"))
    parser.add_argument("--count", type=int, default=600)
    args = parser.parse_args()
    rows = labelled(args.count)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    cheap = sum(bool(r["cheap_correct"]) for r in rows) / len(rows)
    strong = sum(bool(r["strong_correct"]) for r in rows) / len(rows)
    print(f"wrote {len(rows)} problems to {args.out} (cheap right {cheap:.2f}, strong right {strong:.2f})")
    print(f"score them with: bourse routing evaluate {args.out}")


if __name__ == "__main__":
    main()
