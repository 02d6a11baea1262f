"""The frozen leave-subjects-out folds every MMLU figure of the difficulty predictor is reported on.

Fixed by a seed here, before any tuning: the usable subjects (sorted, `high_school_mathematics` removed, its
strong-model labels are an extraction fault of the source) are shuffled once with `FOLD_SEED` and dealt into
`FOLD_COUNT` folds of 9 or 10 whole subjects. Changing either constant invalidates every published figure.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

FOLD_SEED = 20261203
FOLD_COUNT = 5
EXCLUDED_SUBJECTS = frozenset({"high_school_mathematics"})


def subject_folds(subjects: Iterable[str], *, folds: int = FOLD_COUNT, seed: int = FOLD_SEED) -> list[list[str]]:
    """The held-out subjects of each fold: every usable subject in exactly one fold, fold sizes differing by <= 1."""
    usable = sorted(set(subjects) - EXCLUDED_SUBJECTS)
    if len(usable) < folds:
        raise ValueError(f"{len(usable)} usable subjects cannot make {folds} folds")
    random.Random(seed).shuffle(usable)
    return [sorted(usable[index::folds]) for index in range(folds)]


def fold_masks(row_subjects: Sequence[str], folds: list[list[str]]) -> list[tuple[list[int], list[int]]]:
    """(training row indices, held-out row indices) per fold; excluded subjects are in neither."""
    out: list[tuple[list[int], list[int]]] = []
    for held_out in folds:
        held = set(held_out)
        train = [i for i, s in enumerate(row_subjects) if s not in held and s not in EXCLUDED_SUBJECTS]
        test = [i for i, s in enumerate(row_subjects) if s in held]
        out.append((train, test))
    return out
