"""RouteStream over the real adapter and simulator: deltas then one summary; failover only before the first
token; a failure after it ends the stream with an error, never a clean end."""

from __future__ import annotations

import json

import grpc
import msgspec
import pytest
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb
from nats.aio.client import Client as NATS

from shared.events import subjects
from shared.events.schemas import TelemetryEvent
from shared.grpc_errors import from_rpc_error
from tests.router.faults import inject
from tests.support.requests import route, stream_request

CHEAPEST = ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct")


async def _collect(stub, request: pb.RouteStreamRequest) -> tuple[str, list[pb.RouteStreamResponse]]:
    messages = [message async for message in stub.RouteStream(request, timeout=10)]
    text = "".join(m.delta.content for m in messages if m.WhichOneof("event") == "delta")
    return text, messages


async def test_stream_deltas_then_summary_with_telemetry(router, nc: NATS) -> None:
    stub, _ = router
    request = route("Tell me a story.")
    unary = await stub.Route(route("Tell me a story."), timeout=10)  # same prompt, same simulated answer
    text, messages = await _collect(stub, stream_request(request))
    kinds = [m.WhichOneof("event") for m in messages]
    assert kinds[-1] == "summary" and kinds.count("summary") == 1 and kinds.count("delta") >= 2
    summary = messages[-1].summary
    assert text == unary.completion.content and summary.completion.content == ""
    assert (summary.provider, summary.model) == CHEAPEST
    assert summary.cost_micro_usd == unary.cost_micro_usd > 0
    assert summary.latency.time_to_first_token_us > 0
    js = nc.jetstream()
    sub = await js.subscribe(subjects.telemetry(*CHEAPEST), ordered_consumer=True)
    while True:
        event = msgspec.json.decode((await sub.next_msg(timeout=5)).data, type=TelemetryEvent)
        if event.request_id == summary.request_id:
            break
    await sub.unsubscribe()
    assert event.stream and event.ttft_ms is not None and event.cost_micro_usd == summary.cost_micro_usd


async def test_failover_before_the_first_token(router, sim) -> None:
    stub, _ = router
    await inject(sim, provider=CHEAPEST[0], model=CHEAPEST[1], kind="overloaded", count=1)
    text, messages = await _collect(stub, stream_request(route()))
    summary = messages[-1].summary
    assert text and [a.outcome for a in summary.attempts] == [pb.ATTEMPT_OUTCOME_ERROR, pb.ATTEMPT_OUTCOME_SUCCESS]
    assert summary.provider != CHEAPEST[0]


async def test_failure_after_the_first_token_ends_the_stream_with_an_error(router, sim) -> None:
    stub, _ = router
    await inject(sim, provider=CHEAPEST[0], model=CHEAPEST[1], kind="drop_stream", count=1)
    received: list[pb.RouteStreamResponse] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for message in stub.RouteStream(stream_request(route()), timeout=10):
            received.append(message)  # noqa: PERF401 -- keeps what arrived before the error
    assert received and all(m.WhichOneof("event") == "delta" for m in received)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert from_rpc_error(caught.value).reason in ("CONNECTION_DROPPED", "BAD_RESPONSE", "UPSTREAM_ERROR")


async def test_answers_that_must_validate_are_held_back_and_escalated(router) -> None:
    stub, _ = router
    request = route("Reply in JSON.", constraints=pb.RoutingConstraints(max_attempts=2))
    request.chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    request.chat.response_format.json_schema = json.dumps(
        {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    )
    received: list[pb.RouteStreamResponse] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for message in stub.RouteStream(stream_request(request), timeout=10):
            received.append(message)  # noqa: PERF401 -- keeps what arrived before the error
    assert received == []  # nothing invalid ever reached the client
    assert from_rpc_error(caught.value).reason == "INVALID_OUTPUT"
    request.chat.response_format.json_schema = json.dumps({"type": "object", "required": ["answer"]})
    text, messages = await _collect(stub, stream_request(request))
    assert "answer" in json.loads(text) and messages[-1].summary.attempts[0].outcome == pb.ATTEMPT_OUTCOME_SUCCESS
