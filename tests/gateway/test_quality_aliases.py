"""`bourse/cheapest` and `bourse/balanced`, and the quality options, as RoutingConstraints."""

from __future__ import annotations

import pytest
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.config import default_aliases
from services.gateway.core.routing_options import layered, options_for_model, options_from_headers, to_constraints
from shared.errors import InvalidRequest


@pytest.mark.parametrize(
    ("model", "policy"),
    [
        ("bourse/cheapest", router_pb2.QUALITY_POLICY_CHEAPEST),
        ("bourse/balanced", router_pb2.QUALITY_POLICY_BALANCED),
        ("bourse/code", router_pb2.QUALITY_POLICY_UNSPECIFIED),  # the router's configured default
    ],
)
def test_aliases_choose_the_quality_policy(model: str, policy: int) -> None:
    constraints = to_constraints(options_for_model(model, default_aliases(), None))
    assert constraints.quality_policy == policy


def test_headers_set_a_quality_target_and_reject_an_unknown_policy() -> None:
    options = layered(
        [
            options_for_model("bourse/balanced", default_aliases(), None),
            options_from_headers({"x-bourse-quality-target": "0.9"}),
        ]
    )
    constraints = to_constraints(options)
    assert constraints.quality_target == pytest.approx(0.9)
    assert constraints.quality_policy == router_pb2.QUALITY_POLICY_BALANCED
    with pytest.raises(InvalidRequest, match="unknown quality 'best'"):
        to_constraints(layered([options_from_headers({"x-bourse-quality": "best"})]))
    with pytest.raises(InvalidRequest, match="x-bourse-quality-target"):
        options_from_headers({"x-bourse-quality-target": "1.5"})
