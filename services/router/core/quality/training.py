"""Fitting the difficulty predictor in numpy: two L2-regularised logistic heads, P(strong right) and P(cheap right).

Fitted on standardised features with Boehning's fixed-Hessian iteration (see `fit_logistic`).
No randomness: the same data gives the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from services.router.core.quality.predictor import WEIGHTS_VERSION, HeadWeights, PredictorWeights
from services.router.core.quality.text_features import FEATURE_NAMES

Matrix = npt.NDArray[np.float64]
_MAX_STEPS = 500
_TOLERANCE = 1e-5


def standardise(features: npt.ArrayLike) -> tuple[Matrix, Matrix, Matrix]:
    x = np.asarray(features, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0  # a constant column stays 0 after centring
    return (x - mean) / scale, mean, scale


def fit_logistic(z: Matrix, y: npt.ArrayLike, l2: float, gram: Matrix | None = None) -> tuple[Matrix, float]:
    """Weights and bias minimising log loss + l2/2 |w|^2 (bias unpenalised) on standardised `z`.

    Boehning's bound: the logistic Hessian never exceeds X'X / 4, so iterating with that fixed matrix (factored
    inverted once) decreases the loss at every step and converges to the same optimum as Newton's method, at the cost of
    one matrix-vector product per step instead of one X'WX per step. `gram` (X'X with the bias column) can be
    shared by fits on the same rows.
    """
    target = np.asarray(y, dtype=np.float64)
    n, d = z.shape
    design = np.hstack((z, np.ones((n, 1))))
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    bound = (design.T @ design if gram is None else gram) / 4.0 + np.diag(penalty) + 1e-9 * np.eye(d + 1)
    inverse = np.linalg.inv(bound)  # once per fit; each step is then two matrix-vector products
    theta = np.zeros(d + 1)
    rate = float(np.clip(target.mean(), 1e-3, 1 - 1e-3))
    theta[-1] = np.log(rate / (1 - rate))
    for _ in range(_MAX_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (p - target) + penalty * theta
        step = inverse @ gradient
        theta -= step
        if float(np.abs(step).max()) < _TOLERANCE:
            break
    return theta[:-1], float(theta[-1])


def gram_matrix(z: Matrix) -> Matrix:
    design = np.hstack((z, np.ones((z.shape[0], 1))))
    result: Matrix = design.T @ design
    return result


def fit_predictor(
    features: npt.ArrayLike,
    cheap_correct: npt.ArrayLike,
    strong_correct: npt.ArrayLike,
    *,
    l2: float,
    encoder: str,
    embedding_dimensions: int,
    embedding_max_tokens: int,
    length_blend: float = 0.0,
    trained_on: str = "",
) -> PredictorWeights:
    z, mean, scale = standardise(features)
    gram = gram_matrix(z)
    w_strong, b_strong = fit_logistic(z, strong_correct, l2, gram)
    w_cheap, b_cheap = fit_logistic(z, cheap_correct, l2, gram)
    need = 1.0 / (1.0 + np.exp(-(z @ w_strong + b_strong))) - 1.0 / (1.0 + np.exp(-(z @ w_cheap + b_cheap)))
    length = np.asarray(features, dtype=np.float64)[:, embedding_dimensions + FEATURE_NAMES.index("log_chars")]
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
        length_blend=length_blend,
        need_mean=round(float(need.mean()), 7),
        need_scale=round(max(float(need.std()), 1e-6), 7),
        length_mean=round(float(length.mean()), 7),
        length_scale=round(max(float(length.std()), 1e-6), 7),
        trained_on=trained_on,
    )


def _rounded(values: Sequence[float] | Matrix) -> list[float]:
    # Seven significant digits keep the file small and diff-friendly; far below the fit's own noise.
    return [float(f"{float(v):.7g}") for v in values]
