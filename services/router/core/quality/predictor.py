"""The difficulty predictor at request time: prompt features -> P(strong right), P(cheap right), need for strong.

Two logistic heads over the same standardised features (the MiniLM embedding of the prompt, then the surface
features of `text_features`), trained by `bourse routing train` on labelled prompts (see docs/router-quality.md).
`need` = P(strong right) - P(cheap right): the accuracy a strong model adds on this prompt, which is what APGR
rewards ranking first. `difficulty` is how much harder than an average training prompt this one looks, in logits
(0 = average, > 0 harder); the router shifts every model's ability by it.

The weights are a small JSON file; loading checks every shape, so a corrupt file fails at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from services.router.core.quality.text_features import FEATURE_NAMES, text_features

WEIGHTS_VERSION = 1


class HeadWeights(msgspec.Struct, forbid_unknown_fields=True):
    weights: list[float]
    bias: float


class PredictorWeights(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    version: int
    encoder: str  # the sentence encoder the embedding part was trained with ("" = no embedding features)
    embedding_max_tokens: int  # the prompt is cut to this many encoder tokens before embedding
    embedding_dimensions: int
    text_features: list[str]
    mean: list[float]
    scale: list[float]
    strong: HeadWeights
    cheap: HeadWeights
    mean_logit_strong: float  # mean logit of each head over the training prompts: difficulty 0
    mean_logit_cheap: float
    # The score blends the standardised need with the standardised log length of the prompt, by `length_blend`
    # (0 = the heads alone), chosen by leave-subjects-out cross-validation; the statistics are the training set's.
    length_blend: float = 0.0
    need_mean: float = 0.0
    need_scale: float = 1.0
    length_mean: float = 0.0
    length_scale: float = 1.0
    trained_on: str = ""  # a line saying what data and which command


@dataclass(frozen=True, slots=True)
class Prediction:
    p_strong: float
    p_cheap: float
    difficulty: float  # logits above the average training prompt
    score: float = 0.0  # the routing score (higher = stronger): the need, blended with length as trained

    @property
    def need(self) -> float:
        """The heads' need for a strong model: P(strong right) - P(cheap right)."""
        return self.p_strong - self.p_cheap


class DifficultyPredictor:
    def __init__(self, weights: PredictorWeights) -> None:
        dims = weights.embedding_dimensions + len(weights.text_features)
        if weights.version != WEIGHTS_VERSION:
            raise ValueError(f"predictor weights version {weights.version}, expected {WEIGHTS_VERSION}")
        if tuple(weights.text_features) != FEATURE_NAMES:
            raise ValueError("predictor weights were trained on other text features than this code computes")
        for name, values in (
            ("mean", weights.mean),
            ("scale", weights.scale),
            ("strong.weights", weights.strong.weights),
            ("cheap.weights", weights.cheap.weights),
        ):
            if len(values) != dims:
                raise ValueError(f"predictor weights: {name} has {len(values)} values, expected {dims}")
        self.info = weights
        self.embedding_dimensions = weights.embedding_dimensions
        mean = np.asarray(weights.mean, dtype=np.float64)
        scale = np.asarray(weights.scale, dtype=np.float64)
        # Fold the standardisation into the heads once: w . ((x - mean) / scale) + b = (w / scale) . x + b'.
        matrix = np.stack([weights.strong.weights, weights.cheap.weights]).astype(np.float64) / scale
        self._matrix = matrix.T.astype(np.float32)  # (dims, 2)
        self._bias = np.array([weights.strong.bias, weights.cheap.bias]) - matrix @ mean
        self._mean_logits = (weights.mean_logit_strong, weights.mean_logit_cheap)
        self._length_column = weights.embedding_dimensions + FEATURE_NAMES.index("log_chars")

    @classmethod
    def load(cls, path: Path) -> DifficultyPredictor:
        try:
            weights = msgspec.json.decode(path.read_bytes(), type=PredictorWeights)
        except (OSError, msgspec.DecodeError) as error:
            raise ValueError(f"cannot load predictor weights {path}: {error}") from None
        return cls(weights)

    def features(self, text: str, embedding: npt.NDArray[np.float32] | None) -> npt.NDArray[np.float32]:
        """The input vector: the embedding (zeros when none is given and the weights expect one), then text features."""
        surface = text_features(text)
        if self.embedding_dimensions == 0:
            return surface
        if embedding is None:
            embedding = np.zeros(self.embedding_dimensions, dtype=np.float32)
        elif embedding.shape != (self.embedding_dimensions,):
            raise ValueError(f"embedding of shape {embedding.shape}, expected ({self.embedding_dimensions},)")
        return np.concatenate((embedding.astype(np.float32, copy=False), surface))

    def logits(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """(n, 2) logits of P(strong right), P(cheap right) for a (n, dims) batch, or (2,) for one vector."""
        out: npt.NDArray[np.float64] = features.astype(np.float64) @ self._matrix + self._bias
        return out

    def predict(self, text: str, embedding: npt.NDArray[np.float32] | None) -> Prediction:
        features = self.features(text, embedding)
        strong, cheap = (float(v) for v in self.logits(features))
        difficulty = ((self._mean_logits[0] - strong) + (self._mean_logits[1] - cheap)) / 2.0
        p_strong, p_cheap = _sigmoid(strong), _sigmoid(cheap)
        score = self.blend(p_strong - p_cheap, float(features[self._length_column]))
        return Prediction(p_strong=p_strong, p_cheap=p_cheap, difficulty=difficulty, score=score)

    def blend(self, need: float, log_length: float) -> float:
        info = self.info
        alpha = info.length_blend
        return (1.0 - alpha) * (need - info.need_mean) / info.need_scale + alpha * (
            log_length - info.length_mean
        ) / info.length_scale

    def raw_needs(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """P(strong right) - P(cheap right) for a (n, dims) batch."""
        probabilities = 1.0 / (1.0 + np.exp(-self.logits(features)))
        result: npt.NDArray[np.float64] = probabilities[:, 0] - probabilities[:, 1]
        return result

    def scores(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Batch form of `Prediction.score` (same arithmetic as `predict`)."""
        info = self.info
        needs = (self.raw_needs(features) - info.need_mean) / info.need_scale
        lengths = (features[:, self._length_column].astype(np.float64) - info.length_mean) / info.length_scale
        result: npt.NDArray[np.float64] = (1.0 - info.length_blend) * needs + info.length_blend * lengths
        return result


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    z = math.exp(value)
    return z / (1.0 + z)
