"""The local tier over a real local-inference service (a tiny random CTranslate2 model built in the test):
trivial tasks go local first, labels are chosen by Score, answers are validated, failures escalate to the
cheapest remote model with both attempts recorded, and a local tier that is down is skipped, never an error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as pb

from services.local_inference.config import InferenceConfig
from services.local_inference.convert.gguf_to_ct2 import convert_gguf
from services.simulator.engine import _WORDS as SIMULATOR_WORDS
from shared.pricing.manifest import default_manifest_path
from shared.processes import free_port
from tests.local_inference.tiny_model import write_tiny_gguf
from tests.support.requests import route
from tests.support.services import running_services

CHEAPEST = ("qwen", "qwen-turbo")  # 0.05 / 0.20 USD per Mtok: the cheapest for a short classification answer
LABELS = ["positive", "negative", "neutral"]
WORDS = r"[a-z]+( [a-z]+){3,}"  # the simulator answers in words; the random local model does not


@pytest.fixture(scope="module")
async def local_target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    gguf = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    write_tiny_gguf(gguf)
    model_dir: Path = tmp_path_factory.mktemp("ct2") / "tiny"
    convert_gguf(gguf, model_dir, name="tiny-test")
    config = InferenceConfig(
        listen="127.0.0.1:0", model_dir=str(model_dir), embed_model_dir="off", intra_threads=1, max_batch_wait_ms=0
    )
    async with running_services() as started:
        service = await started.inference(config)
        yield f"127.0.0.1:{service.port}"


def _extract() -> pb.RouteRequest:
    constraints = pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_EXTRACTION, output_pattern=WORDS)
    return route("Extract the product name.", constraints=constraints, max_tokens=24)


def _classify_free_text() -> pb.RouteRequest:
    """A classification the local model answers by generation (no labels), checked against a pattern."""
    constraints = pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_CLASSIFICATION, output_pattern=WORDS)
    return route("Describe the sentiment of: I love it.", constraints=constraints, max_tokens=24)


def _classify_low_confidence() -> pb.RouteRequest:
    """Labels that include every word the simulator answers with (one word at max_tokens 1), so its answer is
    valid and only the local answer's confidence can send the request on."""
    constraints = pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_CLASSIFICATION, labels=SIMULATOR_WORDS)
    return route("Which word fits best?", constraints=constraints, max_tokens=1)


def _classify(text: str) -> pb.RouteRequest:
    constraints = pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_CLASSIFICATION, labels=LABELS)
    return route(f"Classify the sentiment: {text}", constraints=constraints)


async def test_classification_is_answered_locally_by_score(make_router, local_target: str) -> None:
    stub, _ = await make_router(inference_target=local_target, local_min_confidence={"classification": 0.0})
    request = _classify("I love this product, it works great. " * 3)  # the tiny model has a 512-token window
    explained = await stub.Explain(pb.ExplainRequest(chat=request.chat, constraints=request.constraints))
    assert explained.local_first
    response: pb.RouteResponse = await stub.Route(request, timeout=30)
    assert response.served_from == routing_pb2.SERVED_FROM_LOCAL
    assert response.completion.content in LABELS
    assert response.cost_micro_usd == 0 and response.saved_micro_usd > 0
    assert [(a.served_from, a.outcome, a.served_from_detail) for a in response.attempts] == [
        (routing_pb2.SERVED_FROM_LOCAL, pb.ATTEMPT_OUTCOME_SUCCESS, "score")
    ]
    assert 1 / len(LABELS) <= response.attempts[0].confidence <= 1.0  # the chosen label's probability


async def test_an_answer_below_the_confidence_threshold_escalates(make_router, local_target: str) -> None:
    stub, _ = await make_router(inference_target=local_target, local_min_confidence={"classification": 0.99})
    response: pb.RouteResponse = await stub.Route(_classify_low_confidence(), timeout=30)
    local, remote = response.attempts
    assert (local.served_from, local.outcome, local.error_reason, local.served_from_detail) == (
        routing_pb2.SERVED_FROM_LOCAL,
        pb.ATTEMPT_OUTCOME_INVALID_OUTPUT,
        "LOW_CONFIDENCE",
        "score",
    )
    assert 0.0 < local.confidence < 0.99
    assert (remote.served_from, remote.outcome) == (routing_pb2.SERVED_FROM_REMOTE, pb.ATTEMPT_OUTCOME_SUCCESS)
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE


async def test_invalid_local_answer_escalates_to_the_cheapest_remote(make_router, local_target: str) -> None:
    stub, _ = await make_router(inference_target=local_target)
    request = _classify_free_text()
    # No remote model is cheapest for every token mix (CHEAPEST leads for a short answer); the router's own
    # ranking for this request, from the same estimates, names the model the escalation must reach.
    explained = await stub.Explain(pb.ExplainRequest(chat=request.chat, constraints=request.constraints))
    first = (explained.candidates[0].provider, explained.candidates[0].model)
    # For a longer answer the 0.10 / 0.10 USD per Mtok pair (Llama 3.1 8B, Ministral 3B) leads, and their order
    # follows what the router learnt from earlier tests' telemetry on the same nats-server.
    assert first in (
        CHEAPEST,
        ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct"),
        ("mistral", "ministral-3b-2512"),
    )
    response: pb.RouteResponse = await stub.Route(request, timeout=30)
    local, remote = response.attempts
    assert (local.served_from, local.outcome) == (routing_pb2.SERVED_FROM_LOCAL, pb.ATTEMPT_OUTCOME_INVALID_OUTPUT)
    assert (remote.provider, remote.model, remote.outcome) == (*first, pb.ATTEMPT_OUTCOME_SUCCESS)
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE and response.cost_micro_usd > 0


async def test_extraction_skips_the_local_tier_its_measured_quality_does_not_qualify(
    make_router, local_target: str, tmp_path: Path
) -> None:
    manifest = json.loads(default_manifest_path().read_text(encoding="utf-8"))
    for entry in manifest["models"]:
        if entry["provider"] == "local":
            entry["quality"]["extraction"] = 0.2
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    stub, _ = await make_router(inference_target=local_target, manifest_path=str(path))
    request = _extract()
    explained = await stub.Explain(pb.ExplainRequest(chat=request.chat, constraints=request.constraints))
    assert not explained.local_first
    local = [r for r in explained.rejected if r.provider == "local"]
    assert [r.constraint for r in local] == ["local_tier"] and "quality" in local[0].detail
    response: pb.RouteResponse = await stub.Route(request, timeout=30)
    assert [a.served_from for a in response.attempts] == [routing_pb2.SERVED_FROM_REMOTE]


async def test_an_exact_match_is_served_locally_without_the_model(make_router, local_target: str) -> None:
    stub, _ = await make_router(inference_target=local_target)
    constraints = pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_EXTRACTION, output_pattern=r"INV-\d{5}")
    response: pb.RouteResponse = await stub.Route(
        route("Extract the invoice number: 'Invoice INV-20931 is due.'", constraints=constraints), timeout=30
    )
    assert response.served_from == routing_pb2.SERVED_FROM_LOCAL and response.completion.content == "INV-20931"
    (local,) = response.attempts
    assert (local.outcome, local.served_from_detail, local.confidence) == (
        pb.ATTEMPT_OUTCOME_SUCCESS,
        "exact_match",
        1.0,
    )


async def test_a_schema_beyond_the_guided_subset_escalates_with_the_reason(make_router, local_target: str) -> None:
    stub, _ = await make_router(inference_target=local_target)
    request = route(
        "Give the colour as JSON.", constraints=pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_FORMATTING)
    )
    request.chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    request.chat.response_format.schema_name = "colour"
    request.chat.response_format.json_schema = json.dumps(
        {"type": "object", "properties": {"answer": {"type": "string", "minLength": 2}}}
    )
    response: pb.RouteResponse = await stub.Route(request, timeout=30)
    local = response.attempts[0]
    assert (local.served_from, local.outcome, local.error_reason) == (
        routing_pb2.SERVED_FROM_LOCAL,
        pb.ATTEMPT_OUTCOME_ERROR,
        "GUIDANCE_UNSUPPORTED",
    )
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE


async def test_local_tier_down_falls_back_to_remote(make_router) -> None:
    stub, _ = await make_router(inference_target=f"127.0.0.1:{free_port()}", local_deadline_s=1.0)
    response: pb.RouteResponse = await stub.Route(_classify_free_text(), timeout=30)
    local = response.attempts[0]
    assert (local.served_from, local.outcome) == (routing_pb2.SERVED_FROM_LOCAL, pb.ATTEMPT_OUTCOME_ERROR)
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE


async def test_no_local_constraint_skips_the_local_tier(make_router, local_target: str) -> None:
    stub, _ = await make_router(inference_target=local_target)
    request = _classify_free_text()
    request.constraints.no_local = True
    response: pb.RouteResponse = await stub.Route(request, timeout=30)
    assert [a.served_from for a in response.attempts] == [routing_pb2.SERVED_FROM_REMOTE]


def test_local_min_confidence_config_bounds(tmp_path: Path) -> None:
    from services.router.config import RouterConfig
    from services.router.core.execution.tiers import LOCAL_MIN_CONFIDENCE
    from shared.config import ConfigError, load_config

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"local_min_confidence": {"formatting": 0.5}}), encoding="utf-8")
    config = load_config(RouterConfig, env_prefix="R", path=good, environ={})
    assert config.local_min_confidence == {"formatting": 0.5}
    assert set(LOCAL_MIN_CONFIDENCE) == {"classification", "extraction", "formatting"}
    for bad in (1.5, -0.1):
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"local_min_confidence": {"formatting": bad}}), encoding="utf-8")
        with pytest.raises(ConfigError, match="local_min_confidence"):
            load_config(RouterConfig, env_prefix="R", path=path, environ={})
