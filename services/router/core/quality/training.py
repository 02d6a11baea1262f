"""Fitting the difficulty predictor in numpy: two L2-regularised logistic heads, P(strong right) and P(cheap right).

Newton's method on standardised features (a few hundred columns, some thousand rows: each step is one small
linear solve). No randomness: the same data gives the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from services.router.core.quality.predictor import WEIGHTS_VERSION, HeadWeights, PredictorWeights
from services.router.core.quality.text_features import FEATURE_NAMES

Matrix = npt.NDArray[np.float64]
_NEWTON_STEPS = 30
_TOLERANCE = 1e-7


def standardise(features: npt.ArrayLike) -> tuple[Matrix, Matrix, Matrix]:
    x = np.asarray(features, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0  # a constant column stays 0 after centring
    return (x - mean) / scale, mean, scale


def fit_logistic(z: Matrix, y: npt.ArrayLike, l2: float) -> tuple[Matrix, float]:
    """Weights and bias minimising log loss + l2/2 |w|^2 (bias unpenalised) on standardised `z`."""
    target = np.asarray(y, dtype=np.float64)
    n, d = z.shape
    design = np.hstack((z, np.ones((n, 1))))
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    theta = np.zeros(d + 1)
    rate = float(np.clip(target.mean(), 1e-3, 1 - 1e-3))
    theta[-1] = np.log(rate / (1 - rate))
    for _ in range(_NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (p - target) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < _TOLERANCE:
            break
    return theta[:-1], float(theta[-1])


def fit_predictor(
    features: npt.ArrayLike,
    cheap_correct: npt.ArrayLike,
    strong_correct: npt.ArrayLike,
    *,
    l2: float,
    encoder: str,
    embedding_dimensions: int,
    embedding_max_tokens: int,
    trained_on: str = "",
) -> PredictorWeights:
    z, mean, scale = standardise(features)
    w_strong, b_strong = fit_logistic(z, strong_correct, l2)
    w_cheap, b_cheap = fit_logistic(z, cheap_correct, l2)
    return PredictorWeights(
        version=WEIGHTS_VERSION,
        encoder=encoder,
        embedding_dimensions=embedding_dimensions,
        embedding_max_tokens=embedding_max_tokens,
        text_features=list(FEATURE_NAMES),
        mean=_rounded(mean),
        scale=_rounded(scale),
        strong=HeadWeights(weights=_rounded(w_strong), bias=round(b_strong, 7)),
        cheap=HeadWeights(weights=_rounded(w_cheap), bias=round(b_cheap, 7)),
        mean_logit_strong=round(float((z @ w_strong + b_strong).mean()), 7),
        mean_logit_cheap=round(float((z @ w_cheap + b_cheap).mean()), 7),
        trained_on=trained_on,
    )


def _rounded(values: Sequence[float] | Matrix) -> list[float]:
    # Seven significant digits keep the file small and diff-friendly; far below the fit's own noise.
    return [float(f"{float(v):.7g}") for v in values]
