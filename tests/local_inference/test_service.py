"""InferenceService over real gRPC on port 0, with the tiny model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2 as pb
from grpc_health.v1 import health_pb2

from services.local_inference.config import ENV_PREFIX, InferenceConfig
from shared.config import ConfigError, load_config
from shared.errors import BourseError
from shared.grpc_errors import from_rpc_error
from tests.local_inference.conftest import RunningService, start_service, stop_service
from tests.support.eventually import eventually
from tests.support.readiness import wait_health_status
from tests.support.requests import chat as user_chat


async def rpc_error(call: object) -> BourseError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return from_rpc_error(caught.value)


async def test_generate(tiny_service: RunningService) -> None:
    response = await tiny_service.stub.Generate(pb.GenerateRequest(chat=user_chat("hello", max_tokens=8)))
    completion = response.completion
    assert response.model == "tiny-test"
    assert 0 < completion.usage.completion_tokens <= 8
    assert completion.usage.prompt_tokens > 0
    assert completion.finish_reason in (chat_pb2.FINISH_REASON_STOP, chat_pb2.FINISH_REASON_LENGTH)
    if completion.usage.completion_tokens < 8:
        assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert response.compute_us > 0


async def test_stream_matches_generate(tiny_service: RunningService) -> None:
    chat = user_chat("stream please", max_tokens=10)
    whole = await tiny_service.stub.Generate(pb.GenerateRequest(chat=chat))
    messages = [m async for m in tiny_service.stub.GenerateStream(pb.GenerateStreamRequest(chat=chat))]
    assert [m.WhichOneof("event") for m in messages[:-1]] == ["delta"] * (len(messages) - 1)
    done = messages[-1].done
    assert "".join(m.delta.content for m in messages[:-1]) == whole.completion.content
    assert done.completion.content == ""
    assert done.completion.usage == whole.completion.usage
    assert done.completion.finish_reason == whole.completion.finish_reason


async def test_score(tiny_service: RunningService) -> None:
    response = await tiny_service.stub.Score(pb.ScoreRequest(chat=user_chat("pick"), labels=["yes", "no", "maybe"]))
    assert sorted(s.label for s in response.scores) == ["maybe", "no", "yes"]
    assert sum(s.probability for s in response.scores) == pytest.approx(1.0)
    assert response.scores[0].logprob >= response.scores[-1].logprob
    assert response.model == "tiny-test"


@pytest.mark.parametrize(
    ("chat", "field"),
    [
        (chat_pb2.ChatRequest(), "chat.messages"),
        (
            chat_pb2.ChatRequest(messages=[chat_pb2.Message(content=[chat_pb2.ContentPart(text="x")])]),
            "chat.messages[0].role",
        ),
        (
            chat_pb2.ChatRequest(
                messages=[chat_pb2.Message(role=chat_pb2.ROLE_TOOL, content=[chat_pb2.ContentPart(text="x")])]
            ),
            "chat.messages[0].role",
        ),
        (
            chat_pb2.ChatRequest(
                messages=[
                    chat_pb2.Message(
                        role=chat_pb2.ROLE_USER,
                        content=[chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="https://x"))],
                    )
                ]
            ),
            "chat.messages[0].content[0]",
        ),
        (
            chat_pb2.ChatRequest(
                messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="x")])],
                tools=[chat_pb2.ToolDefinition(name="f")],
            ),
            "chat.tools",
        ),
        (user_chat("x", max_tokens=5000), "chat.sampling.max_tokens"),
        (user_chat("x", max_tokens=0), "chat.sampling.max_tokens"),
        (user_chat("x", temperature=3.0), "chat.sampling.temperature"),
        (user_chat("x", top_p=0.0), "chat.sampling.top_p"),
        (user_chat("x", stop=["a", "b", "c", "d", "e"]), "chat.sampling.stop"),
    ],
)
async def test_bad_requests_are_invalid_argument(
    tiny_service: RunningService, chat: chat_pb2.ChatRequest, field: str
) -> None:
    error = await rpc_error(tiny_service.stub.Generate(pb.GenerateRequest(chat=chat)))
    assert error.reason == "INVALID_REQUEST"
    assert field in [v.field for v in error.violations]


async def test_context_overflow_is_invalid_with_its_own_reason(tiny_service: RunningService) -> None:
    error = await rpc_error(tiny_service.stub.Generate(pb.GenerateRequest(chat=user_chat("y " * 400, max_tokens=5))))
    assert error.reason == "CONTEXT_LENGTH_EXCEEDED"


async def test_bad_labels_are_invalid_argument(tiny_service: RunningService) -> None:
    error = await rpc_error(tiny_service.stub.Score(pb.ScoreRequest(chat=user_chat("x"), labels=["one"])))
    assert error.reason == "INVALID_REQUEST"
    assert [v.field for v in error.violations] == ["labels"]


async def test_embed_disabled_is_failed_precondition(tiny_service: RunningService) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tiny_service.stub.Embed(pb.EmbedRequest(texts=["x"]))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert from_rpc_error(caught.value).reason == "EMBED_DISABLED"


async def test_sampling_with_temperature_runs(tiny_service: RunningService) -> None:
    response = await tiny_service.stub.Generate(
        pb.GenerateRequest(chat=user_chat("hi", max_tokens=6, temperature=0.8, top_p=0.9))
    )
    assert 0 < response.completion.usage.completion_tokens <= 6


async def test_overload_is_resource_exhausted_with_retry_info(tiny_model_dir: Path) -> None:
    config = InferenceConfig(
        listen="127.0.0.1:0",
        model_dir=str(tiny_model_dir),
        embed_model_dir="off",
        intra_threads=1,
        max_batch_size=1,
        max_queue=1,
    )
    running = await start_service(config)
    try:
        calls = [running.stub.Generate(pb.GenerateRequest(chat=user_chat(f"p{i}", max_tokens=400))) for i in range(24)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        rejected = [from_rpc_error(r) for r in results if isinstance(r, grpc.aio.AioRpcError)]
        served = [r for r in results if isinstance(r, pb.GenerateResponse)]
        assert served, "some requests must be served"
        assert rejected, "24 concurrent requests against a queue of 1 must overflow it"
        for error in rejected:
            assert error.reason == "QUEUE_FULL"
            assert error.retryable and error.retry_after_s is not None and error.retry_after_s > 0
    finally:
        await stop_service(running)


async def test_unloadable_model_stays_not_serving(tmp_path: Path) -> None:
    config = InferenceConfig(listen="127.0.0.1:0", model_dir=str(tmp_path / "missing"), embed_model_dir="off")
    running = await start_service(config, wait=False)
    try:
        await wait_health_status(running.channel, health_pb2.HealthCheckResponse.NOT_SERVING)

        # the load failure is reported to callers, who go elsewhere (the router escalates to a remote model)
        async def load_failure() -> BourseError | None:
            error = await rpc_error(running.stub.Generate(pb.GenerateRequest(chat=user_chat("x"))))
            return error if error.reason == "MODEL_LOAD_FAILED" else None

        error = await eventually(load_failure, timeout_s=10, what="MODEL_LOAD_FAILED to be reported")
        assert error.reason == "MODEL_LOAD_FAILED"
        assert "no model.bin" in error.message
        await wait_health_status(running.channel, health_pb2.HealthCheckResponse.NOT_SERVING)
    finally:
        await stop_service(running)


def test_config_rejects_unknown_keys_and_int16() -> None:
    with pytest.raises(ConfigError):
        load_config(InferenceConfig, env_prefix=ENV_PREFIX, environ={"BOURSE_INFERENCE_COMPUTE_TYPE": "int16"})
    with pytest.raises(ConfigError):
        load_config(InferenceConfig, env_prefix=ENV_PREFIX, environ={"BOURSE_INFERENCE_MAX_QUEUE": "0"})
    config = load_config(InferenceConfig, env_prefix=ENV_PREFIX, environ={"BOURSE_INFERENCE_INTER_THREADS": "2"})
    assert config.inter_threads == 2 and config.listen == "127.0.0.1:50054"


def test_config_file_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "inference.json"
    path.write_text('{"max_batch": 4}')
    with pytest.raises(ConfigError):
        load_config(InferenceConfig, env_prefix=ENV_PREFIX, path=path, environ={})


async def test_stream_bad_request_is_invalid_argument(tiny_service: RunningService) -> None:
    call = tiny_service.stub.GenerateStream(pb.GenerateStreamRequest(chat=chat_pb2.ChatRequest()))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _message in call:
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "chat.messages" in [v.field for v in from_rpc_error(caught.value).violations]


async def test_encoder_load_failure_keeps_generation_serving(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = InferenceConfig(
        listen="127.0.0.1:0", model_dir=str(tiny_model_dir), embed_model_dir=str(tmp_path / "no-encoder")
    )
    running = await start_service(config)  # waits for SERVING: generation is available
    try:
        error = await rpc_error(running.stub.Embed(pb.EmbedRequest(texts=["x"])))
        assert error.reason == "MODEL_LOAD_FAILED"
        assert error.kind.name == "UNAVAILABLE"
        response = await running.stub.Generate(pb.GenerateRequest(chat=user_chat("hi", max_tokens=3)))
        assert response.completion.usage.completion_tokens > 0
    finally:
        await stop_service(running)
