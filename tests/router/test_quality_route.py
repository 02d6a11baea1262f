"""Quality-aware routing through a real router (port 0) with the shipped predictor and the real MiniLM encoder."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.router.config import QualityConfig, RouterConfig
from services.router.core.quality.targets import DEFAULT_TARGETS
from services.router.server import create_router
from shared.logging import get_logger
from shared.pricing.manifest import default_manifest_path, load_manifest
from shared.serving import insecure_channel
from tests.router.conftest import RouterFactory
from tests.support.requests import chat

pytestmark = pytest.mark.model  # loads the converted MiniLM encoder

CODE = "Write a Python function that merges two sorted lists into one sorted list in linear time."


def _explain(text: str, **constraints: object) -> pb.ExplainRequest:
    return pb.ExplainRequest(
        chat=chat(text),
        constraints=pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_CODE, **constraints),  # type: ignore[arg-type]
        context=pb.RequestContext(request_id=uuid.uuid4().hex, tenant_id="acme"),
    )


async def test_balanced_explain_shows_estimates_and_picks_the_cheapest_model_meeting_the_target(
    make_router: RouterFactory,
) -> None:
    stub, _ = await make_router(quality=QualityConfig())
    reply = await stub.Explain(_explain(CODE))
    assert reply.quality_target == pytest.approx(DEFAULT_TARGETS["code"])
    assert reply.predicted_need != 0.0 and not reply.quality_target_unmet
    scores = {(e.provider, e.model): e.quality for e in load_manifest(default_manifest_path()).models}
    first = reply.candidates[0]
    assert first.quality.probability >= reply.quality_target
    for candidate in reply.candidates:
        assert candidate.quality.prior == pytest.approx(scores[(candidate.provider, candidate.model)]["code"])
        assert candidate.quality.successes == 0.0 and candidate.quality.failures == 0.0
    costs = [c.estimated_cost_micro_usd for c in reply.candidates]
    assert costs == sorted(costs)
    below = [r for r in reply.rejected if r.constraint == "quality_target"]
    assert below and all("estimated quality" in r.detail for r in below)
    cheapest = await stub.Explain(_explain(CODE, quality_policy=pb.QUALITY_POLICY_CHEAPEST))
    assert cheapest.candidates[0].estimated_cost_micro_usd < first.estimated_cost_micro_usd
    assert not cheapest.candidates[0].HasField("quality") and cheapest.quality_target == 0.0


async def test_a_harder_looking_prompt_gets_a_lower_estimate_from_the_same_model(make_router: RouterFactory) -> None:
    stub, _ = await make_router(quality=QualityConfig())
    easy = await stub.Explain(_explain("What is 2 + 2?", quality_policy=pb.QUALITY_POLICY_BALANCED))
    hard = await stub.Explain(
        _explain(
            "Prove that for every prime p > 3, p^2 - 1 is divisible by 24, then implement a function that checks"
            " it for all p < 10^6 and state its complexity; explain each step of the number theory involved.",
            quality_policy=pb.QUALITY_POLICY_BALANCED,
        )
    )
    assert easy.predicted_difficulty != hard.predicted_difficulty


async def test_targets_unmet_fall_back_or_fail_as_documented(make_router: RouterFactory) -> None:
    stub, _ = await make_router(quality=QualityConfig(tenant_targets={"acme": {"code": 0.99}}))
    reply = await stub.Explain(_explain(CODE))
    assert reply.quality_target_unmet
    probabilities = [c.quality.probability for c in reply.candidates]
    assert probabilities == sorted(probabilities, reverse=True)
    routed = await stub.Route(
        pb.RouteRequest(chat=chat(CODE), constraints=_explain(CODE).constraints, context=_explain(CODE).context)
    )
    assert (routed.provider, routed.model) == (reply.candidates[0].provider, reply.candidates[0].model)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(pb.RouteRequest(chat=chat(CODE), constraints=_explain(CODE, quality_target=0.995).constraints))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "quality_target" in (caught.value.details() or "")


async def test_a_corrupt_predictor_file_fails_the_start_up_step_and_the_router_never_serves(
    nats_url: str, adapter_target: str, tmp_path: Path
) -> None:
    weights = tmp_path / "weights.json"
    weights.write_text("{not json")
    config = RouterConfig(
        listen="127.0.0.1:0",
        nats_url=nats_url,
        adapter_target=adapter_target,
        quality=QualityConfig(predictor_path=str(weights)),
    )
    service, parts = await create_router(config, get_logger("test-router"))
    channel = insecure_channel(f"127.0.0.1:{service.port}")
    try:
        # Build loads nothing slow; the predictor (and its encoder) load in `start()`.
        assert parts.executor.quality is not None and parts.executor.quality.scorer is None
        with pytest.raises(ValueError, match=f"quality routing: .*{weights.name}"):
            await service.start()
        health = health_pb2_grpc.HealthStub(channel)  # type: ignore[no-untyped-call]
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await channel.close()
        await service.stop(0.0)
