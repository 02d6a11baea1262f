"""The router's spans with a real local-inference service (tiny model): a request answered locally is a `route`
span with a `local_attempt` child, and the inference service's RPC span is that attempt's child in the same
trace; an answer that fails validation shows the local attempt and an `escalation` provider attempt as siblings.
Each service exports to its own in-memory exporter (the SDK's), as they are separate tracers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.local_inference.config import InferenceConfig
from services.local_inference.convert.gguf_to_ct2 import convert_gguf
from services.local_inference.server import create_server as create_inference
from services.router.config import RouterConfig
from services.router.server import create_router
from shared.logging import get_logger
from shared.processes import wait_healthy
from shared.serving import insecure_channel
from shared.tracing import Tracing
from tests.local_inference.tiny_model import write_tiny_gguf
from tests.support.requests import route

LABELS = ["positive", "negative", "neutral"]
WORDS = r"[a-z]+( [a-z]+){3,}"


@pytest.fixture(scope="module")
def local_spans() -> Iterator[InMemorySpanExporter]:
    yield InMemorySpanExporter()


@pytest.fixture(scope="module")
async def traced_local(
    tmp_path_factory: pytest.TempPathFactory, local_spans: InMemorySpanExporter
) -> AsyncIterator[str]:
    gguf = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    write_tiny_gguf(gguf)
    model_dir: Path = tmp_path_factory.mktemp("ct2") / "tiny"
    convert_gguf(gguf, model_dir, name="tiny-test")
    config = InferenceConfig(
        listen="127.0.0.1:0", model_dir=str(model_dir), embed_model_dir="off", intra_threads=1, max_batch_wait_ms=0
    )
    tracing = Tracing("local_inference", SimpleSpanProcessor(local_spans))
    service = await create_inference(config, get_logger("test-local"), tracing=tracing)
    await service.start()
    target = f"127.0.0.1:{service.port}"
    await wait_healthy(target, timeout_s=60)
    yield target
    await service.stop(0.5)


@pytest.fixture
async def traced_router(
    nats_url: str, adapter_target: str, traced_local: str
) -> AsyncIterator[tuple[router_grpc.RouterServiceStub, InMemorySpanExporter]]:
    spans = InMemorySpanExporter()
    config = RouterConfig(
        listen="127.0.0.1:0",
        nats_url=nats_url,
        adapter_target=adapter_target,
        inference_target=traced_local,
        # The tiny random model's label probabilities sit below the calibrated threshold; serve any label here.
        local_min_confidence={"classification": 0.0},
        total_deadline_s=10.0,
        budget_bucket=f"spans_{secrets.token_hex(3)}",
    )
    service, _parts = await create_router(
        config, get_logger("test-router"), tracing=Tracing("router", SimpleSpanProcessor(spans))
    )
    await service.start()
    channel = insecure_channel(f"127.0.0.1:{service.port}")
    yield router_grpc.RouterServiceStub(channel), spans
    await channel.close()
    await service.stop(0.5)


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


async def test_a_local_answer_is_a_local_attempt_span_with_the_inference_rpc_beneath(
    traced_router: tuple[router_grpc.RouterServiceStub, InMemorySpanExporter], local_spans: InMemorySpanExporter
) -> None:
    stub, spans = traced_router
    local_spans.clear()
    constraints = pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_CLASSIFICATION, labels=LABELS)
    response = await stub.Route(route("Classify the sentiment: I love it. " * 3, constraints=constraints), timeout=30)
    assert response.served_from == routing_pb2.SERVED_FROM_LOCAL
    finished = spans.get_finished_spans()
    (route_span,) = _named(finished, "route")
    (local,) = _named(finished, "local_attempt")
    assert local.parent is not None and local.parent.span_id == route_span.context.span_id
    assert local.attributes is not None and local.attributes["bourse.attempt.outcome"] == "success"
    assert local.attributes["bourse.served_from"] == "local"
    assert route_span.attributes is not None and route_span.attributes["bourse.served_from"] == "local"
    assert not _named(finished, "provider_attempt")
    (rpc,) = [s for s in local_spans.get_finished_spans() if s.name.startswith("bourse.inference.v1.InferenceService/")]
    assert rpc.context.trace_id == route_span.context.trace_id
    assert rpc.parent is not None and rpc.parent.span_id == local.context.span_id
    assert rpc.resource.attributes["service.name"] == "bourse-local-inference"


async def test_an_invalid_local_answer_escalates_as_a_sibling_span(
    traced_router: tuple[router_grpc.RouterServiceStub, InMemorySpanExporter],
) -> None:
    stub, spans = traced_router
    constraints = pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_CLASSIFICATION, output_pattern=WORDS)
    request = route("Describe the sentiment of: I love it.", constraints=constraints, max_tokens=24)
    response = await stub.Route(request, timeout=30)
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE
    finished = spans.get_finished_spans()
    (route_span,) = _named(finished, "route")
    (local,) = _named(finished, "local_attempt")
    (remote,) = _named(finished, "provider_attempt")
    assert local.attributes is not None and local.attributes["bourse.attempt.outcome"] == "invalid_output"
    assert remote.attributes is not None and remote.attributes["bourse.attempt.reason"] == "first"
    assert local.parent is not None and remote.parent is not None
    assert local.parent.span_id == remote.parent.span_id == route_span.context.span_id
