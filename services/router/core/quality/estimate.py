"""Per request and candidate model: the chance its answer is acceptable, and the evidence behind it.

A model's ability on a task kind is a Beta posterior: the manifest's quality score for the task kind is the
prior mean, worth `prior_strength` outcomes, and the tenant's decayed outcome counts are added to it. The
request's predicted difficulty (logits above an average prompt, from the difficulty predictor) then shifts
that ability, as in a one-parameter item response model: P(acceptable) = sigmoid(logit(ability) - difficulty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.router.core.quality.evidence import Counts, EvidenceBook

# A prior or posterior of exactly 0 or 1 would make the logit infinite and evidence powerless.
_PROBABILITY_FLOOR = 0.01


@dataclass(frozen=True, slots=True)
class QualityEstimate:
    probability: float  # the chance the answer is acceptable, for this request
    prior: float  # the manifest's score for the task kind
    posterior: float  # prior + the tenant's evidence, before the request's difficulty
    difficulty: float  # the predictor's shift, in logits (0 without a predictor)
    counts: Counts


class QualityEstimator:
    def __init__(self, evidence: EvidenceBook, *, prior_strength: float) -> None:
        if prior_strength <= 0:
            raise ValueError("prior_strength must be positive")
        self.evidence = evidence
        self._prior_strength = prior_strength

    def estimate(
        self, *, tenant: str, task_kind: str, model_key: str, prior: float, difficulty: float, now_s: float
    ) -> QualityEstimate:
        counts = self.evidence.counts((tenant, task_kind, model_key), now_s)
        strength = self._prior_strength
        posterior = (strength * prior + counts.successes) / (strength + counts.total)
        clipped = min(max(posterior, _PROBABILITY_FLOOR), 1.0 - _PROBABILITY_FLOOR)
        logit = math.log(clipped / (1.0 - clipped)) - difficulty
        probability = 1.0 / (1.0 + math.exp(-logit)) if logit > -700 else 0.0
        return QualityEstimate(
            probability=probability, prior=prior, posterior=posterior, difficulty=difficulty, counts=counts
        )
