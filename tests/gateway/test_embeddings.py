"""/v1/embeddings through the gateway to the real local-inference service (MiniLM). Needs `make models`."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import openai
import pytest

from services.gateway.config import GatewayConfig
from services.gateway.server import GatewayServer
from services.local_inference.config import InferenceConfig
from tests.gateway.conftest import GatewayStack
from tests.support.services import LOOPBACK_ANY_PORT, running_services

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
async def embedding_gateway(nats_url: str, stack: GatewayStack) -> AsyncIterator[GatewayServer]:
    async with running_services(grace_s=1.0) as started:
        inference = await started.inference(InferenceConfig(listen=LOOPBACK_ANY_PORT))
        yield await started.gateway(
            GatewayConfig(
                listen=LOOPBACK_ANY_PORT,
                router=stack.config.router,
                inference=f"127.0.0.1:{inference.port}",
                nats_url=nats_url,
                keys_bucket=stack.config.keys_bucket,
            )
        )


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_embeddings_with_the_openai_sdk(embedding_gateway: GatewayServer, stack: GatewayStack) -> None:
    texts = ["How do I reset my password?", "I forgot my password, how can I change it?", "The cat sat on the mat."]
    async with openai.AsyncOpenAI(base_url=embedding_gateway.base_url, api_key=stack.key, max_retries=0) as client:
        # The SDK asks for base64 by default and decodes it; float is the other encoding.
        packed = await client.embeddings.create(model="local", input=texts)
        plain = await client.embeddings.create(model="local", input=texts, encoding_format="float")
    vectors = [item.embedding for item in packed.data]
    assert [item.index for item in packed.data] == [0, 1, 2]
    assert len(vectors[0]) == 384
    assert all(abs(math.sqrt(_cosine(v, v)) - 1.0) < 1e-3 for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2]) + 0.2
    for a, b in zip(vectors, (item.embedding for item in plain.data), strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-6
    assert packed.usage.prompt_tokens > 0
    assert packed.model.startswith("local/")
