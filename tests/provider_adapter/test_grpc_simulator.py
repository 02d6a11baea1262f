"""Adapter <-> simulator over real gRPC and real HTTP, in demo mode (no keys, simulator_url set)."""

from __future__ import annotations

import json

import aiohttp
import grpc
import pytest
from bourse.common.v1 import chat_pb2
from bourse.provider.v1 import provider_service_pb2 as pb
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from shared.errors import BourseError
from shared.grpc_errors import from_rpc_error
from tests.provider_adapter.chat_requests import WEATHER_SCHEMA, tool_conversation, user_chat

OPENAI_FAMILY = ["openai", "deepseek", "qwen", "mistral", "groq", "together", "fireworks", "openrouter", "tokenmix"]
ALL_PROVIDERS = [*OPENAI_FAMILY, "anthropic", "gemini"]
ONE_PER_DIALECT = ["openai", "anthropic", "gemini"]


async def stream(
    stub: pb_grpc.ProviderServiceStub, provider: str, model: str, chat: chat_pb2.ChatRequest
) -> tuple[list[pb.CompleteStreamResponse], list[pb.CompleteResponse]]:
    deltas, done = [], []
    async for message in stub.CompleteStream(pb.CompleteStreamRequest(provider=provider, model=model, chat=chat)):
        (deltas if message.HasField("delta") else done).append(message if message.HasField("delta") else message.done)
    return deltas, done


async def expect_error(awaitable: object) -> BourseError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await awaitable  # type: ignore[misc]
    return from_rpc_error(caught.value)


async def add_fault(control: aiohttp.ClientSession, **fault: object) -> None:
    async with control.post("/_sim/faults", json=fault) as response:
        assert response.status == 201, await response.text()


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
async def test_complete_through_simulator(stub: pb_grpc.ProviderServiceStub, provider: str) -> None:
    reply = await stub.Complete(pb.CompleteRequest(provider=provider, model="m-small", chat=user_chat()))
    completion = reply.completion
    assert completion.content
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens == len(completion.content.split())
    assert not completion.usage.estimated
    assert reply.provider_response_id
    assert reply.upstream_latency_us > 0


@pytest.mark.parametrize("provider", ONE_PER_DIALECT)
async def test_stream_matches_complete(stub: pb_grpc.ProviderServiceStub, provider: str) -> None:
    whole = await stub.Complete(pb.CompleteRequest(provider=provider, model="m-stream", chat=user_chat("Stream it")))
    deltas, done = await stream(stub, provider, "m-stream", user_chat("Stream it"))
    assert "".join(d.delta.content for d in deltas) == whole.completion.content
    assert deltas[0].time_to_first_token_us > 0
    assert all(d.time_to_first_token_us == 0 for d in deltas[1:])
    assert len(done) == 1
    final = done[0].completion
    assert final.content == ""
    assert final.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert final.usage == whole.completion.usage


@pytest.mark.parametrize("provider", ONE_PER_DIALECT)
async def test_tool_call_round_trip(stub: pb_grpc.ProviderServiceStub, provider: str) -> None:
    chat = tool_conversation()
    chat.sampling.ClearField("temperature")  # keep within every provider's range
    reply = await stub.Complete(pb.CompleteRequest(provider=provider, model="m-tools", chat=chat))
    call = reply.completion.tool_calls[0]
    assert reply.completion.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert call.name == "get_weather"
    assert call.id
    assert json.loads(call.arguments_json) == {"location": "example"}
    assert set(json.loads(call.arguments_json)) == set(WEATHER_SCHEMA["properties"])  # type: ignore[arg-type]
    deltas, done = await stream(stub, provider, "m-tools", chat)
    streamed = done[0].completion.tool_calls[0]
    assert streamed.name == "get_weather"
    assert json.loads(streamed.arguments_json) == {"location": "example"}
    assert "".join(f.arguments_fragment for d in deltas for f in d.delta.tool_calls) == streamed.arguments_json


async def test_max_tokens_ends_with_length(stub: pb_grpc.ProviderServiceStub) -> None:
    for provider in ONE_PER_DIALECT:
        reply = await stub.Complete(pb.CompleteRequest(provider=provider, model="m", chat=user_chat(max_tokens=3)))
        assert reply.completion.finish_reason == chat_pb2.FINISH_REASON_LENGTH
        assert reply.completion.usage.completion_tokens == 3


FAULTS = [
    ("rate_limit", "RATE_LIMITED", grpc.StatusCode.RESOURCE_EXHAUSTED),
    ("overloaded", "OVERLOADED", grpc.StatusCode.UNAVAILABLE),
    ("server_error", "UPSTREAM_5XX", grpc.StatusCode.UNAVAILABLE),
    ("context_length", "CONTEXT_LENGTH_EXCEEDED", grpc.StatusCode.INVALID_ARGUMENT),
    ("authentication", "AUTHENTICATION", grpc.StatusCode.UNAUTHENTICATED),
    ("drop_stream", "CONNECTION_DROPPED", grpc.StatusCode.UNAVAILABLE),
]


@pytest.mark.parametrize("provider", ONE_PER_DIALECT)
@pytest.mark.parametrize(("kind", "reason", "code"), FAULTS)
async def test_injected_faults_map_to_status(
    stub: pb_grpc.ProviderServiceStub,
    sim_control: aiohttp.ClientSession,
    provider: str,
    *,
    kind: str,
    reason: str,
    code: grpc.StatusCode,
) -> None:
    model = f"m-{kind}"
    await add_fault(sim_control, provider=provider, model=model, kind=kind, count=1, retry_after_s=3)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Complete(pb.CompleteRequest(provider=provider, model=model, chat=user_chat()))
    assert caught.value.code() == code
    error = from_rpc_error(caught.value)
    assert error.reason == reason
    assert error.metadata["provider"] == provider
    assert error.metadata["model"] == model
    assert error.retryable
    if kind == "rate_limit":
        assert error.retry_after_s == pytest.approx(3)
    # count was 1: the next call succeeds
    reply = await stub.Complete(pb.CompleteRequest(provider=provider, model=model, chat=user_chat()))
    assert reply.completion.content


MID_STREAM = [
    ("openai", "drop_stream", "CONNECTION_DROPPED"),
    ("anthropic", "drop_stream", "CONNECTION_DROPPED"),
    ("gemini", "drop_stream", "CONNECTION_DROPPED"),
    ("openai", "stream_error", "UPSTREAM_ERROR"),
    ("anthropic", "stream_error", "OVERLOADED"),
    ("gemini", "stream_error", "OVERLOADED"),
]


@pytest.mark.parametrize(("provider", "kind", "reason"), MID_STREAM)
async def test_stream_fails_midway(
    stub: pb_grpc.ProviderServiceStub, sim_control: aiohttp.ClientSession, provider: str, kind: str, reason: str
) -> None:
    await add_fault(sim_control, provider=provider, model="m-drop", kind=kind, count=1)
    received: list[str] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for message in stub.CompleteStream(
            pb.CompleteStreamRequest(provider=provider, model="m-drop", chat=user_chat())
        ):
            assert message.HasField("delta")
            received.append(message.delta.content)
    assert received  # some tokens arrived before the failure
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    error = from_rpc_error(caught.value)
    assert error.reason == reason
    assert error.retryable


async def test_read_timeout(stub: pb_grpc.ProviderServiceStub, sim_control: aiohttp.ClientSession) -> None:
    await add_fault(sim_control, provider="slowread", kind="timeout", count=1, hang_s=5)
    error = await expect_error(stub.Complete(pb.CompleteRequest(provider="slowread", model="m", chat=user_chat())))
    assert error.reason == "READ_TIMEOUT"
    assert error.retryable


async def test_total_deadline(stub: pb_grpc.ProviderServiceStub, sim_control: aiohttp.ClientSession) -> None:
    await add_fault(sim_control, provider="shortdeadline", kind="timeout", count=1, hang_s=5)
    error = await expect_error(stub.Complete(pb.CompleteRequest(provider="shortdeadline", model="m", chat=user_chat())))
    assert error.reason == "DEADLINE"


async def test_rate_limit_spell_by_duration(
    stub: pb_grpc.ProviderServiceStub, sim_control: aiohttp.ClientSession
) -> None:
    await add_fault(sim_control, provider="anthropic", model="m-spell", kind="overloaded", duration_s=60)
    for _ in range(3):
        error = await expect_error(
            stub.Complete(pb.CompleteRequest(provider="anthropic", model="m-spell", chat=user_chat()))
        )
        assert error.reason == "OVERLOADED"
    async with sim_control.delete("/_sim/faults") as response:
        assert response.status == 200
    reply = await stub.Complete(pb.CompleteRequest(provider="anthropic", model="m-spell", chat=user_chat()))
    assert reply.completion.content


async def test_keep_alive_reuses_one_connection(
    stub: pb_grpc.ProviderServiceStub, sim_control: aiohttp.ClientSession
) -> None:
    # The simulator counts distinct client connections; the control session itself keeps one connection.
    async def peers() -> int:
        async with sim_control.get("/_sim/stats") as response:
            return int((await response.json())["connections"])

    await stub.Complete(pb.CompleteRequest(provider="fireworks", model="m-keepalive", chat=user_chat()))
    before = await peers()
    for _ in range(10):
        await stub.Complete(pb.CompleteRequest(provider="fireworks", model="m-keepalive", chat=user_chat()))
    assert await peers() == before


async def test_unknown_provider_is_not_found(stub: pb_grpc.ProviderServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Complete(pb.CompleteRequest(provider="nope", model="m", chat=user_chat()))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert from_rpc_error(caught.value).reason == "UNKNOWN_PROVIDER"


async def test_unsupported_field_is_failed_precondition(stub: pb_grpc.ProviderServiceStub) -> None:
    chat = user_chat(seed=1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Complete(pb.CompleteRequest(provider="anthropic", model="m", chat=chat))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = from_rpc_error(caught.value)
    assert error.reason == "UNSUPPORTED_FIELD"
    assert error.metadata["field"] == "sampling.seed"


async def test_global_endpoint_serves_any_region(stub: pb_grpc.ProviderServiceStub) -> None:
    reply = await stub.Complete(pb.CompleteRequest(provider="openai", model="m", chat=user_chat(), region="eu-west"))
    assert reply.completion.content


async def test_bad_requests_are_invalid_argument(stub: pb_grpc.ProviderServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Complete(pb.CompleteRequest(provider="openai", model="m"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in from_rpc_error(caught.value).violations] == ["chat.messages"]
    chat = user_chat()
    chat.messages.add()  # role unset
    error = await expect_error(stub.CompleteStream(pb.CompleteStreamRequest(provider="", model="m", chat=chat)).read())
    assert [v.field for v in error.violations] == ["provider", "chat.messages[2].role"]
