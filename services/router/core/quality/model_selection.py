"""Choosing the predictor's regularisation by leave-subjects-out cross-validation, on training subjects only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from services.router.core.quality.dataset import Matrices
from services.router.core.quality.folds import fold_masks, subject_folds
from services.router.core.quality.metrics import RoutingMetrics, routing_metrics
from services.router.core.quality.predictor import DifficultyPredictor, PredictorWeights
from services.router.core.quality.training import fit_predictor

L2_GRID: tuple[float, ...] = (10.0, 100.0, 1000.0, 10000.0)
INNER_FOLDS = 4


def fit(data: Matrices, rows: Sequence[int] | npt.NDArray[np.intp], l2: float, *, encoder: str, dims: int, cut: int) -> DifficultyPredictor:
    index = np.asarray(rows)
    weights: PredictorWeights = fit_predictor(
        data.features[index],
        data.cheap[index],
        data.strong[index],
        l2=l2,
        encoder=encoder,
        embedding_dimensions=dims,
        embedding_max_tokens=cut,
    )
    return DifficultyPredictor(weights)


def evaluate(predictor: DifficultyPredictor, data: Matrices, rows: Sequence[int] | npt.NDArray[np.intp]) -> RoutingMetrics:
    index = np.asarray(rows)
    return routing_metrics(predictor.need_scores(data.features[index]), data.cheap[index], data.strong[index])


def choose_l2(
    data: Matrices, rows: Sequence[int] | npt.NDArray[np.intp], *, encoder: str, dims: int, cut: int, seed: int, grid: Sequence[float] = L2_GRID
) -> tuple[float, dict[float, float]]:
    """The L2 weight with the best mean APGR over inner leave-subjects-out folds of `rows` (ties: the larger)."""
    index = np.asarray(rows)
    subjects = [data.subjects[i] for i in index]
    inner = fold_masks(subjects, subject_folds(subjects, folds=INNER_FOLDS, seed=seed))
    scores: dict[float, float] = {}
    for l2 in grid:
        values = []
        for train, test in inner:
            predictor = fit(data, index[train], l2, encoder=encoder, dims=dims, cut=cut)
            values.append(evaluate(predictor, data, index[test]).apgr)
        scores[l2] = float(np.mean(values))
    best = max(grid, key=lambda l2: (round(scores[l2], 6), l2))
    return best, scores
