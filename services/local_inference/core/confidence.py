"""The confidence of a guided answer, from the log-probabilities of its tokens.

bench/local_eval.py compares the measures on the tune split and picks, per task kind, the one that serves the
most answers at 97% precision: `mean_model` for extraction (copy_from_input), `mean_guided` for formatting
(docs/local-inference.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from services.local_inference.core.decoding import Generation


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else -math.inf


def _min(values: Sequence[float]) -> float:
    return min(values) if values else -math.inf


# Each maps a generation to a log-probability; the confidence is its exponential (0 to 1).
MEASURES: dict[str, Callable[[Generation], float]] = {
    "mean_guided": lambda g: _mean(g.guided_logprobs),  # geometric mean probability among the allowed tokens
    "min_guided": lambda g: _min(g.guided_logprobs),  # the least sure step among the allowed tokens
    "mean_model": lambda g: _mean(g.logprobs),  # geometric mean probability of the model's own choice
    "min_model": lambda g: _min(g.logprobs),
}
MEASURE = "mean_guided"


def confidence(generation: Generation, measure: str = MEASURE) -> float:
    return math.exp(MEASURES[measure](generation))
