"""The real converted SmolLM2 (and MiniLM for Embed) over real gRPC. Needs `make models` (offline)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest
from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2 as pb

from services.local_inference.config import InferenceConfig
from services.local_inference.convert.smollm2 import ensure_smollm2
from services.local_inference.core.engine import EngineOptions, LocalModel
from shared.grpc_errors import from_rpc_error
from tests.local_inference.conftest import RunningService, start_service, stop_service
from tests.support.requests import chat as user_chat

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
async def smollm2_service() -> AsyncIterator[RunningService]:
    running = await start_service(InferenceConfig(listen="127.0.0.1:0"))  # defaults: SmolLM2 + MiniLM
    yield running
    await stop_service(running)


def test_tokenizer_reproduces_smollm_pre_tokenization() -> None:
    with contextlib.closing(LocalModel(ensure_smollm2(), EngineOptions(intra_threads=1))) as model:
        tokens = model.tokenizer.encode("in 2024 I had 35 cats", add_special_tokens=False).tokens
        assert tokens == ["in", "Ġ", "2", "0", "2", "4", "ĠI", "Ġhad", "Ġ", "3", "5", "Ġcats"]
        assert model.end_tokens == ("<|im_end|>",)
        assert model.context_length == 8192


async def test_answers_a_simple_question(smollm2_service: RunningService) -> None:
    chat = user_chat("What is the capital of France?", max_tokens=20)
    response = await smollm2_service.stub.Generate(pb.GenerateRequest(chat=chat))
    assert "Paris" in response.completion.content
    assert response.model == "smollm2-135m-instruct"


async def test_streams_the_same_answer(smollm2_service: RunningService) -> None:
    chat = user_chat("What is the capital of France?", max_tokens=20)
    whole = await smollm2_service.stub.Generate(pb.GenerateRequest(chat=chat))
    parts = [m async for m in smollm2_service.stub.GenerateStream(pb.GenerateStreamRequest(chat=chat))]
    assert "".join(p.delta.content for p in parts[:-1]) == whole.completion.content
    assert parts[-1].done.completion.usage.completion_tokens == whole.completion.usage.completion_tokens


async def test_scores_an_obvious_sentiment(smollm2_service: RunningService) -> None:
    chat = user_chat(
        "Classify the sentiment of this review as positive or negative.\n"
        "Review: I absolutely loved it, wonderful and delightful!\nAnswer with one word."
    )
    response = await smollm2_service.stub.Score(pb.ScoreRequest(chat=chat, labels=["negative", "positive"]))
    assert response.scores[0].label == "positive"


async def test_embeds_with_minilm(smollm2_service: RunningService) -> None:
    texts = ["How do I reset my password?", "I forgot my password, how can I change it?", "The cat sat on the mat."]
    response = await smollm2_service.stub.Embed(pb.EmbedRequest(texts=texts))
    vectors = np.array([e.values for e in response.embeddings], dtype=np.float32)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert response.prompt_tokens > 0


@pytest.mark.parametrize(("count", "reason"), [(0, "INVALID_REQUEST"), (257, "INVALID_REQUEST")])
async def test_embed_rejects_bad_batch_sizes(smollm2_service: RunningService, count: int, reason: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await smollm2_service.stub.Embed(pb.EmbedRequest(texts=["x"] * count))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = from_rpc_error(caught.value)
    assert error.reason == reason and [v.field for v in error.violations] == ["texts"]


async def test_guided_json_from_fields(smollm2_service: RunningService) -> None:
    chat = user_chat(
        "Convert this into a JSON object with keys name and age. Reply with JSON only.\nname: Alice\nage: 30",
        max_tokens=24,
    )
    chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    chat.response_format.json_schema = json.dumps(
        {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    )
    response = await smollm2_service.stub.Generate(pb.GenerateRequest(chat=chat))
    assert json.loads(response.completion.content) == {"name": "Alice", "age": 30}  # free: prose or a code fence
    assert response.method == pb.ANSWER_METHOD_GUIDED and response.confidence > 0.9


async def test_guided_pattern_where_free_generation_answers_in_a_sentence(smollm2_service: RunningService) -> None:
    chat = user_chat("What is the order number? Your order AB-12345 has shipped.", max_tokens=16)
    free = await smollm2_service.stub.Generate(pb.GenerateRequest(chat=chat))
    guided = await smollm2_service.stub.Generate(pb.GenerateRequest(chat=chat, output_pattern=r"[A-Z]{2}-\d{5}"))
    assert not re.fullmatch(r"[A-Z]{2}-\d{5}", free.completion.content)
    assert re.fullmatch(r"[A-Z]{2}-\d{5}", guided.completion.content)
    exact = await smollm2_service.stub.Generate(
        pb.GenerateRequest(chat=chat, output_pattern=r"[A-Z]{2}-\d{5}", copy_from_input=True)
    )
    assert (exact.completion.content, exact.method) == ("AB-12345", pb.ANSWER_METHOD_EXACT_MATCH)
