"""Selection under the default (balanced) quality policy: the quality target, and what happens when none meets it.

The target filter runs inside selection (constraint `quality_target`), so the walk over the cost order stops at
the cheapest models that meet it. When no model does, a caller's explicit target fails the request like
`min_quality` would; a default target falls back to the model with the highest estimate (cost breaks ties), so
the default policy never refuses a request a cheaper policy would serve.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from bourse.router.v1 import router_service_pb2

from services.router.core.quality.predictor import Prediction
from services.router.core.quality.routing import QualityRouting
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import Candidate, Selection, Selector, quality_for


@dataclass(frozen=True, slots=True)
class QualityPlan:
    profile: RequestProfile
    selection: Selection
    target_unmet: bool


def quality_profile(
    profile: RequestProfile,
    constraints: router_service_pb2.RoutingConstraints,
    tenant: str,
    quality: QualityRouting,
    prediction: Prediction,
) -> RequestProfile:
    if quality.cheapest(constraints):
        return profile
    target = constraints.quality_target or quality.targets.target(tenant, profile.task_kind)
    return msgspec.structs.replace(profile, tenant=tenant, quality_target=target, difficulty=prediction.difficulty)


def select_with_quality(
    selector: Selector,
    quality: QualityRouting,
    profile: RequestProfile,
    constraints: router_service_pb2.RoutingConstraints,
    *,
    now: float,
    limit: int | None,
) -> QualityPlan:
    selection = selector.select(profile, now=now, limit=limit)
    if (
        selection.candidates
        or profile.quality_target <= 0.0
        or constraints.quality_target > 0.0
        or selection.last_constraint() != "quality_target"
    ):
        return QualityPlan(profile, selection, target_unmet=False)
    relaxed = selector.select(msgspec.structs.replace(profile, quality_target=0.0), now=now, limit=None)

    def chance(index_and_candidate: tuple[int, Candidate]) -> tuple[float, int]:
        index, candidate = index_and_candidate
        prior = quality_for(candidate.entry, profile.task_kind)
        p = quality.probability(profile.tenant, profile.task_kind, candidate.key, prior, profile.difficulty)
        return (-p, index)

    ranked = [c for _, c in sorted(enumerate(relaxed.candidates), key=chance)]
    kept = tuple(ranked if limit is None else ranked[:limit])
    return QualityPlan(
        profile,
        Selection(
            candidates=kept,
            rejections=relaxed.rejections,
            estimated_prompt_tokens=relaxed.estimated_prompt_tokens,
            local=relaxed.local,
        ),
        target_unmet=True,
    )
