"""The gateway serving inside the router's process: DirectRouter calls the RouterService servicer, no gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import openai
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.gateway.direct_router import CallDeadline, DirectRouter
from services.gateway.http_api import OpenAIHttpApi
from services.gateway.metrics import GatewayMetrics
from shared.logging import get_logger
from tests.gateway.conftest import GatewayStack
from tests.gateway.scripted_router import ScriptedRouter


@pytest.fixture(scope="module")
async def direct_base_url(stack: GatewayStack) -> AsyncIterator[str]:
    api = OpenAIHttpApi(
        config=stack.config,
        router=DirectRouter(ScriptedRouter()),
        inference=None,  # type: ignore[arg-type]
        keys=stack.keys,
        logger=get_logger("gateway-direct"),
        metrics=GatewayMetrics.create(CollectorRegistry()),
    )
    runner = web.AppRunner(api.application(), handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    await runner.cleanup()


def test_deadline_counts_down() -> None:
    assert CallDeadline(None).time_remaining() is None
    remaining = CallDeadline(30.0).time_remaining()
    assert remaining is not None
    assert 0 < remaining <= 30.0


async def test_chat_and_stream_in_process(direct_base_url: str, stack: GatewayStack) -> None:
    async with openai.AsyncOpenAI(base_url=direct_base_url, api_key=stack.key, max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "direct"}]
        )
        assert completion.choices[0].message.content == "echo: direct"
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "a b"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b"
    assert chunks[-1].usage is not None


async def test_errors_in_process_keep_their_status(direct_base_url: str, stack: GatewayStack) -> None:
    async with openai.AsyncOpenAI(base_url=direct_base_url, api_key=stack.key, max_retries=0) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "error:BUDGET_EXCEEDED"}]
            )
        assert caught.value.response.headers["retry-after"] == "42"
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "error:QUEUE_FULL"}], stream=True
            )
        stream = await client.chat.completions.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "stream-error:UPSTREAM_5XX"}], stream=True
        )
        with pytest.raises(openai.APIError, match="UPSTREAM_5XX"):
            async for _ in stream:
                pass
        models = [m.id async for m in client.models.list()]
    assert "sim-openai/gpt-sim-mini" in models


async def test_new_apis_and_n_in_process(direct_base_url: str, stack: GatewayStack) -> None:
    """The Anthropic and Responses endpoints and n > 1 over DirectRouter, whose errors arrive as BourseError."""
    root = direct_base_url.removesuffix("/v1")
    async with anthropic.AsyncAnthropic(base_url=root, api_key=stack.key, max_retries=0) as claude:
        message = await claude.messages.create(
            model="bourse/cheapest", max_tokens=8, messages=[{"role": "user", "content": "direct"}]
        )
        assert message.content[0].type == "text"
        assert message.content[0].text == "echo: direct"
        with pytest.raises(anthropic.RateLimitError):
            await claude.messages.create(
                model="bourse/cheapest", max_tokens=8, messages=[{"role": "user", "content": "error:BUDGET_EXCEEDED"}]
            )
    async with openai.AsyncOpenAI(base_url=direct_base_url, api_key=stack.key, max_retries=0) as client:
        stream = await client.responses.create(model="bourse/cheapest", input="stream-error:UPSTREAM_5XX", stream=True)
        kinds = [event.type async for event in stream]
        assert kinds[-2:] == ["error", "response.failed"]
        completion = await client.chat.completions.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "n"}], n=2
        )
        assert [c.message.content for c in completion.choices] == ["echo: n", "echo: n"]
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "error:BUDGET_EXCEEDED"}], n=2
            )
        chunks = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "stream-error:UPSTREAM_5XX"}],
            n=2,
            stream=True,
        )
        with pytest.raises(openai.APIError, match="UPSTREAM_5XX"):
            async for _ in chunks:
                pass
