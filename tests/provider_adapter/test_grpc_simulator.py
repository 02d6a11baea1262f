"""Adapter <-> simulator over real gRPC and real HTTP, in demo mode (no keys, simulator_url set)."""

from __future__ import annotations

import aiohttp
import grpc
import pytest
from bourse.common.v1 import chat_pb2
from bourse.provider.v1 import provider_service_pb2 as pb
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from shared.grpc_errors import from_rpc_error
from tests.provider_adapter.chat_requests import user_chat

PROVIDERS = ["openai", "deepseek", "qwen", "mistral", "groq", "together", "fireworks", "openrouter", "tokenmix"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_complete_through_simulator(stub: pb_grpc.ProviderServiceStub, provider: str) -> None:
    reply = await stub.Complete(pb.CompleteRequest(provider=provider, model="m-small", chat=user_chat()))
    completion = reply.completion
    assert completion.content
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens == len(completion.content.split())
    assert not completion.usage.estimated
    assert reply.provider_response_id.startswith("chatcmpl-")
    assert reply.upstream_latency_us > 0


async def test_stream_matches_complete(stub: pb_grpc.ProviderServiceStub) -> None:
    whole = await stub.Complete(pb.CompleteRequest(provider="openai", model="m-stream", chat=user_chat("Stream it")))
    deltas: list[str] = []
    ttfts: list[int] = []
    done: list[pb.CompleteResponse] = []
    async for message in stub.CompleteStream(
        pb.CompleteStreamRequest(provider="openai", model="m-stream", chat=user_chat("Stream it"))
    ):
        if message.HasField("delta"):
            deltas.append(message.delta.content)
            ttfts.append(message.time_to_first_token_us)
        else:
            done.append(message.done)
    assert "".join(deltas) == whole.completion.content
    assert ttfts[0] > 0
    assert all(t == 0 for t in ttfts[1:])
    assert len(done) == 1
    final = done[0].completion
    assert final.content == ""
    assert final.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert final.usage == whole.completion.usage


async def test_max_tokens_ends_with_length(stub: pb_grpc.ProviderServiceStub) -> None:
    reply = await stub.Complete(pb.CompleteRequest(provider="openai", model="m", chat=user_chat(max_tokens=3)))
    assert reply.completion.finish_reason == chat_pb2.FINISH_REASON_LENGTH
    assert reply.completion.usage.completion_tokens == 3


async def test_rate_limit_maps_to_resource_exhausted_with_retry_info(
    stub: pb_grpc.ProviderServiceStub, sim_control: aiohttp.ClientSession
) -> None:
    fault = {"provider": "groq", "model": "m-limited", "kind": "rate_limit", "count": 1, "retry_after_s": 7}
    async with sim_control.post("/_sim/faults", json=fault) as response:
        assert response.status == 201
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Complete(pb.CompleteRequest(provider="groq", model="m-limited", chat=user_chat()))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    error = from_rpc_error(caught.value)
    assert error.reason == "RATE_LIMITED"
    assert error.retry_after_s == pytest.approx(7)
    assert error.retryable
    assert error.metadata["provider"] == "groq"
    assert error.metadata["model"] == "m-limited"
    # The fault had count 1: the next call succeeds.
    reply = await stub.Complete(pb.CompleteRequest(provider="groq", model="m-limited", chat=user_chat()))
    assert reply.completion.content


async def test_unknown_provider_is_not_found(stub: pb_grpc.ProviderServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Complete(pb.CompleteRequest(provider="nope", model="m", chat=user_chat()))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert from_rpc_error(caught.value).reason == "UNKNOWN_PROVIDER"


async def test_empty_request_is_invalid_argument(stub: pb_grpc.ProviderServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Complete(pb.CompleteRequest(provider="openai", model="m"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = from_rpc_error(caught.value)
    assert [v.field for v in error.violations] == ["chat.messages"]
