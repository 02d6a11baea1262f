"""The verifier: does a stored question ask what the query asks? It replaces the word-list vetoes of rerank.py.

Chosen by measurement on the generated tune split (bench/cache_verifier.py, docs/cache.md):
1. exact terms must match (numbers with units, ordinals, operand order, e-mails, identifiers, names, negation:
   exact_terms.py), and no relation may be reversed ("A to B" / "B to A": alignment.py);
2. the word alignment must show no exchanged word: in `strict` mode every content word of the stored question
   has a surface counterpart in the query (stem, one typing slip), in the same order, and the query adds only
   insertions (politeness, a wrapper); in `balanced` mode a reworded opening, an uneven gap (a phrase reworded)
   and extra stored words are allowed, but not a word exchanged in place between the same neighbours, nor a
   change of order;
3. a logistic pair classifier over the alignment and the cosine, trained under sign constraints (a pair with
   fewer differences never scores lower), gives the score that reported bad hits raise a namespace's threshold on.
The classifier alone was measured as a gate too and lost to the structural test (docs/cache.md).

Modes: `off` (no semantic hits), `strict` (the default) and `balanced`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.cache.core.alignment import Alignment, Analysis, align
from services.cache.core.exact_terms import mismatch

MODEL_FILE = Path(__file__).with_name("verifier_model.json")
MODES = ("off", "strict", "balanced")
# Each feature with the sign its weight must have: +1 where more means "more alike", -1 where more means "more
# different". The classifier is trained under these signs, so a pair with no difference at all always scores
# highest: it learns how much each kind of difference costs, never that near-copies are suspicious (which
# generated look-alikes would otherwise teach it).
FEATURE_SIGNS = {
    "cosine": 1,
    "unmatched_query": -1,
    "unmatched_stored": -1,
    "weakest_query": 1,
    "weakest_stored": 1,
    "substituted": -1,
    "substitution_distance": -1,
    "matched_share": 1,
    "mean_similarity": 1,
    "in_place": -1,
    "in_place_opening": -1,
    "in_place_distance": -1,
    "uneven_gaps": -1,
    "gap_distance": -1,
    "discordance": -1,
}
FEATURES = tuple(FEATURE_SIGNS)


def pair_features(alignment: Alignment, cosine: float) -> npt.NDArray[np.float64]:
    substituted = alignment.unmatched_query > 0 and alignment.unmatched_stored > 0
    return np.array(
        [
            cosine,
            min(alignment.unmatched_query, 4) / 4,
            min(alignment.unmatched_stored, 4) / 4,
            alignment.weakest_query,
            alignment.weakest_stored,
            float(substituted),
            (1.0 - alignment.substitution) if substituted else 0.0,
            alignment.matched_share,
            alignment.mean_similarity,
            min(alignment.in_place, 3),
            min(alignment.in_place_opening, 1),
            (1.0 - alignment.in_place_similarity) if alignment.in_place or alignment.in_place_opening else 0.0,
            min(alignment.uneven_gaps, 3),
            (1.0 - alignment.gap_similarity) if alignment.uneven_gaps else 0.0,
            alignment.discordance,
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    affirmed: bool
    score: float  # the classifier's probability that both ask the same (0 when a rule refused first)
    reason: str  # "affirmed", or what refused: "numbers", "names", "negation", "reversed_relation", "classifier"


class PairModel:
    """Logistic regression over standardised pair features; weights and thresholds come from the tune split."""

    def __init__(self, mean: list[float], scale: list[float], weights: list[float], bias: float) -> None:
        self.mean = np.array(mean, dtype=np.float64)
        self.scale = np.array(scale, dtype=np.float64)
        self.weights = np.array(weights, dtype=np.float64)
        self.bias = bias

    def probability(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        return result


@dataclass(frozen=True)
class VerifierModel:
    model: PairModel
    thresholds: dict[str, float]  # per mode

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> VerifierModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was trained on features {data['features']}, this code computes {FEATURES}")
        model = PairModel(data["mean"], data["scale"], data["weights"], float(data["bias"]))
        return cls(model=model, thresholds={k: float(v) for k, v in data["thresholds"].items()})


class Verifier:
    def __init__(self, model: VerifierModel) -> None:
        self._model = model

    def threshold(self, mode: str) -> float:
        return self._model.thresholds[mode]

    def verify(self, query: Analysis, stored: Analysis, cosine: float, mode: str, threshold: float) -> Verdict:
        """Affirm the candidate when no exact term differs, no relation is reversed, the alignment shows no
        exchanged word the mode forbids and the classifier's score reaches `threshold` (the mode's, raised per
        namespace by reported bad hits)."""
        differing = mismatch(query.terms, stored.terms)
        if differing:
            return Verdict(False, 0.0, differing)
        alignment = align(query, stored)
        if alignment.swapped:
            return Verdict(False, 0.0, "reversed_relation")
        score = float(self._model.model.probability(pair_features(alignment, cosine)[None, :])[0])
        structural = structure_refusal(alignment, mode)
        if structural:
            return Verdict(False, score, structural)
        return Verdict(score >= threshold, score, "affirmed" if score >= threshold else "classifier")


def structure_refusal(alignment: Alignment, mode: str) -> str:
    """Why the alignment rules the pair out in `mode` ("" when it does not)."""
    if alignment.in_place:
        return "exchanged_word"
    if alignment.discordance > 0:
        return "reordered"
    if mode == "strict" and alignment.in_place_opening:
        return "exchanged_word"
    if mode == "strict" and alignment.uneven_gaps:
        return "reworded"
    # The stored question says more than the query asked ("opening hours?" / "opening hours of the support line?"):
    # its answer is about something narrower.
    if mode == "strict" and alignment.unmatched_stored:
        return "stored_more_specific"
    return ""
