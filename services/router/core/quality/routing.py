"""QualityRouting: what the router knows about quality, in one place (one per process).

- `assess(chat)`: the difficulty predictor, once per request (the encoder call runs off the event loop).
- `probability(...)`: a candidate's chance of an acceptable answer, used by selection's `quality_target` filter.
- `explain(...)`: the same with its evidence, for Explain.
- Evidence in: `resolve_feedback` turns a Feedback into evidence (or refuses it), `outcome_evidence` turns a
  routed request's validated answers into evidence, `apply` adds evidence from the shared stream.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2

from services.router.core.quality.estimate import QualityEstimate, QualityEstimator
from services.router.core.quality.evidence_event import QualityEvidence
from services.router.core.quality.predictor import Prediction
from services.router.core.quality.scorer import PromptScorer, prompt_text
from services.router.core.quality.served import ServedRequest, ServedRequests
from services.router.core.quality.targets import QualityTargets

NO_PREDICTION = Prediction(p_strong=0.0, p_cheap=0.0, difficulty=0.0)


@dataclass(frozen=True, slots=True)
class FeedbackVerdict:
    evidence: QualityEvidence | None
    refused: str  # "" when accepted; else "unknown_request" | "bad_score" | "wrong_tenant"


class QualityRouting:
    def __init__(
        self,
        *,
        scorer: PromptScorer | None,
        targets: QualityTargets,
        estimator: QualityEstimator,
        served: ServedRequests,
        default_cheapest: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.default_cheapest = default_cheapest
        self.scorer = scorer
        self.targets = targets
        self.estimator = estimator
        self.served = served
        self._clock = clock

    # ---- per request ----------------------------------------------------------------------------------------
    def cheapest(self, constraints: router_service_pb2.RoutingConstraints) -> bool:
        """Whether the request asked (or defaults) to ignore quality estimates."""
        policy = constraints.quality_policy
        if policy == router_service_pb2.QUALITY_POLICY_UNSPECIFIED:
            return self.default_cheapest
        return bool(policy == router_service_pb2.QUALITY_POLICY_CHEAPEST)

    def assess(self, chat: chat_pb2.ChatRequest) -> Prediction:
        if self.scorer is None:
            return NO_PREDICTION
        text = prompt_text(chat)
        return self.scorer.predict(text) if text else NO_PREDICTION

    def probability(self, tenant: str, task_kind: str, model_key: str, prior: float, difficulty: float) -> float:
        return self.explain(tenant, task_kind, model_key, prior, difficulty).probability

    def required_prior(self, target: float, difficulty: float) -> float:
        # P = sigmoid(logit(prior) - difficulty) >= target  <=>  prior >= sigmoid(logit(target) + difficulty);
        # a small margin keeps the pre-filter from ever excluding a model the exact check would accept.
        target = min(max(target, 1e-6), 1.0 - 1e-6)
        logit = math.log(target / (1.0 - target)) + difficulty
        required = 1.0 / (1.0 + math.exp(-logit)) - 1e-6 if logit > -700 else 0.0
        # Priors are clipped to [0.01, 0.99] by the estimate: at or below the floor, any prior may qualify.
        return required if required > 0.0101 else 0.0

    def keys_with_evidence(self, tenant: str, task_kind: str) -> frozenset[str]:
        return self.estimator.evidence.models_with_evidence(tenant, task_kind)

    def explain(self, tenant: str, task_kind: str, model_key: str, prior: float, difficulty: float) -> QualityEstimate:
        return self.estimator.estimate(
            tenant=tenant,
            task_kind=task_kind,
            model_key=model_key,
            prior=prior,
            difficulty=difficulty,
            now_s=self._clock(),
        )

    # ---- evidence -------------------------------------------------------------------------------------------
    def remember(self, request_id: str, tenant: str, task_kind: str, model_key: str) -> None:
        self.served.remember(request_id, ServedRequest(tenant, task_kind, model_key))

    def resolve_feedback(self, request_id: str, tenant: str, score: float, ts_ms: int) -> FeedbackVerdict:
        if not (isinstance(score, float | int) and math.isfinite(score) and 0.0 <= score <= 1.0):
            return FeedbackVerdict(None, "bad_score")
        served = self.served.get(request_id)
        if served is None:
            return FeedbackVerdict(None, "unknown_request")
        if served.tenant != tenant:
            return FeedbackVerdict(None, "wrong_tenant")
        evidence = QualityEvidence(
            tenant=served.tenant,
            task_kind=served.task_kind,
            model_key=served.model_key,
            successes=float(score),
            failures=1.0 - float(score),
            ts_ms=ts_ms if ts_ms > 0 else int(self._clock() * 1000),
            source="feedback",
            request_id=request_id,
        )
        return FeedbackVerdict(evidence, "")

    def apply(self, evidence: QualityEvidence) -> None:
        self.estimator.evidence.add(
            (evidence.tenant, evidence.task_kind, evidence.model_key),
            successes=evidence.successes,
            failures=evidence.failures,
            at_s=evidence.ts_ms / 1000.0,
        )
