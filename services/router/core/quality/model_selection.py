"""Choosing the predictor's regularisation and length blend by leave-subjects-out CV, on training subjects only."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from services.router.core.quality.dataset import Matrices
from services.router.core.quality.folds import fold_masks, subject_folds
from services.router.core.quality.metrics import RoutingMetrics, routing_metrics
from services.router.core.quality.predictor import DifficultyPredictor, PredictorWeights
from services.router.core.quality.training import fit_predictor

L2_GRID: tuple[float, ...] = (1000.0, 3000.0, 10000.0, 30000.0)
BLEND_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
INNER_FOLDS = 4


def fit(
    data: Matrices,
    rows: Sequence[int] | npt.NDArray[np.intp],
    l2: float,
    *,
    encoder: str,
    dims: int,
    cut: int,
    length_blend: float = 0.0,
) -> DifficultyPredictor:
    index = np.asarray(rows)
    weights: PredictorWeights = fit_predictor(
        data.features[index],
        data.cheap[index],
        data.strong[index],
        l2=l2,
        encoder=encoder,
        embedding_dimensions=dims,
        embedding_max_tokens=cut,
        length_blend=length_blend,
    )
    return DifficultyPredictor(weights)


def with_blend(predictor: DifficultyPredictor, length_blend: float) -> DifficultyPredictor:
    return DifficultyPredictor(msgspec.structs.replace(predictor.info, length_blend=length_blend))


def evaluate(
    predictor: DifficultyPredictor, data: Matrices, rows: Sequence[int] | npt.NDArray[np.intp]
) -> RoutingMetrics:
    index = np.asarray(rows)
    return routing_metrics(predictor.scores(data.features[index]), data.cheap[index], data.strong[index])


Choice = tuple[float, float]  # (L2 weight, length blend)


def choose(
    data: Matrices,
    rows: Sequence[int] | npt.NDArray[np.intp],
    *,
    encoder: str,
    dims: int,
    cut: int,
    seed: int,
    grid: Sequence[float] = L2_GRID,
    blends: Sequence[float] = BLEND_GRID,
) -> tuple[Choice, dict[Choice, float]]:
    """The (L2, length blend) with the best mean APGR over inner leave-subjects-out folds of `rows`.

    Ties go to the larger L2 and the smaller blend. Each L2 is fitted once per inner fold; blends reuse the fit.
    """
    index = np.asarray(rows)
    subjects = [data.subjects[i] for i in index]
    inner = fold_masks(subjects, subject_folds(subjects, folds=INNER_FOLDS, seed=seed))
    values: dict[Choice, list[float]] = {(l2, blend): [] for l2 in grid for blend in blends}
    for l2 in grid:
        for train, test in inner:
            predictor = fit(data, index[train], l2, encoder=encoder, dims=dims, cut=cut)
            for blend in blends:
                values[(l2, blend)].append(evaluate(with_blend(predictor, blend), data, index[test]).apgr)
    means = {choice: float(np.mean(v)) for choice, v in values.items()}
    best = max(means, key=lambda c: (round(means[c], 6), c[0], -c[1]))
    return best, means
