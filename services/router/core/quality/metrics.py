"""Routing metrics of the RouteLLM paper: APGR, CPT(x) and the accuracy of a strong/cheap split.

A router scores each prompt by its need for the strong model. Sending the top n prompts by score to the strong
model gives an accuracy; PGR = (accuracy - cheap accuracy) / (strong accuracy - cheap accuracy). Tied scores
are ordered at random in expectation (the gain inside a tie group grows linearly), so a constant score gets
exactly the random router's figures whatever the file order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PERCENT_STEPS = 101  # APGR is the mean PGR over k = 0, 1, ..., 100 % of prompts sent to the strong model


@dataclass(frozen=True, slots=True)
class RoutingMetrics:
    prompts: int
    cheap_accuracy: float
    strong_accuracy: float
    apgr: float
    cpt50: float  # share of prompts sent to the strong model to recover 50 % of the gap (0..1)
    cpt80: float


def pgr_curve(
    scores: npt.ArrayLike, cheap_correct: npt.ArrayLike, strong_correct: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], float, float]:
    """PGR after sending the top n prompts to the strong model, for n = 0..N; and both accuracies."""
    score = np.asarray(scores, dtype=np.float64)
    cheap = np.asarray(cheap_correct, dtype=np.float64)
    strong = np.asarray(strong_correct, dtype=np.float64)
    n = score.shape[0]
    if n == 0 or cheap.shape != (n,) or strong.shape != (n,):
        raise ValueError("scores and both label arrays must be non-empty and of the same length")
    order = np.argsort(-score, kind="stable")
    sorted_scores = score[order]
    gain = (strong - cheap)[order]
    cumulative = np.concatenate(([0.0], np.cumsum(gain)))
    # Tie groups: replace the cumulative gain inside each group by the line between its ends.
    starts = np.flatnonzero(np.concatenate(([True], sorted_scores[1:] != sorted_scores[:-1])))
    ends = np.concatenate((starts[1:], [n]))
    for start, end in zip(starts, ends, strict=True):
        if end - start > 1:
            cumulative[start : end + 1] = np.linspace(cumulative[start], cumulative[end], end - start + 1)
    cheap_accuracy = float(cheap.mean())
    strong_accuracy = float(strong.mean())
    gap = (strong_accuracy - cheap_accuracy) * n
    if gap <= 0:
        raise ValueError("the strong model is not more accurate than the cheap one on these prompts: no gap")
    return cumulative / gap, cheap_accuracy, strong_accuracy


def routing_metrics(
    scores: npt.ArrayLike, cheap_correct: npt.ArrayLike, strong_correct: npt.ArrayLike
) -> RoutingMetrics:
    curve, cheap_accuracy, strong_accuracy = pgr_curve(scores, cheap_correct, strong_correct)
    n = curve.shape[0] - 1
    positions = np.linspace(0.0, n, PERCENT_STEPS)
    pgr_at_percent = np.interp(positions, np.arange(n + 1), curve)
    return RoutingMetrics(
        prompts=n,
        cheap_accuracy=cheap_accuracy,
        strong_accuracy=strong_accuracy,
        apgr=float(pgr_at_percent.mean()),
        cpt50=_cpt(curve, 0.5),
        cpt80=_cpt(curve, 0.8),
    )


def _cpt(curve: npt.NDArray[np.float64], recovered: float) -> float:
    reached = np.flatnonzero(curve >= recovered - 1e-12)
    n = curve.shape[0] - 1
    return float(reached[0]) / n if reached.size else 1.0
