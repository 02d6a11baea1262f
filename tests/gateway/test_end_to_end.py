"""The openai SDK through the gateway, the real router, the provider adapter and the simulator."""

from __future__ import annotations

import json

import aiohttp
import openai
import pytest

from tests.gateway.conftest import RealStack


def _client(stack: RealStack) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0)


async def test_chat_completion_through_the_real_router(real_stack: RealStack) -> None:
    async with _client(real_stack) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "Say hello"}], max_tokens=16
        )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0
    assert raw.headers["x-bourse-served-from"] == "remote"
    assert float(raw.headers["x-bourse-cost-usd"]) > 0
    assert int(raw.headers["x-bourse-attempts"]) >= 1
    assert completion.model == f"{raw.headers['x-bourse-provider']}/{raw.headers['x-bourse-model']}"


async def test_streaming_through_the_real_router(real_stack: RealStack) -> None:
    async with _client(real_stack) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "Count to five"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] in (
        ["stop"],
        ["length"],
    )


async def test_concrete_model_is_honoured(real_stack: RealStack) -> None:
    async with _client(real_stack) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="mistral/ministral-8b-2512", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.headers["x-bourse-provider"] == "mistral"
    assert raw.headers["x-bourse-model"] == "ministral-8b-2512"


async def test_tools_and_json_mode_through_the_real_router(real_stack: RealStack) -> None:
    async with _client(real_stack) as client:
        completion = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                    },
                }
            ],
            tool_choice="required",
        )
        calls = completion.choices[0].message.tool_calls or []
        assert calls, completion
        assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
        json.loads(calls[0].function.arguments)  # type: ignore[union-attr]

        completion = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "give me a JSON object"}],
            response_format={"type": "json_object"},
        )
        assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


async def test_models_from_the_real_manifest(real_stack: RealStack) -> None:
    async with _client(real_stack) as client:
        ids = {m.id async for m in client.models.list()}
    assert "openai/gpt-4o-mini" in ids
    assert "bourse/best" in ids


async def test_cost_bound_that_nothing_meets_is_a_400(real_stack: RealStack) -> None:
    async with _client(real_stack) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="bourse/best",
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"bourse": {"max_cost_usd": 0.0000001, "no_local": True}},
            )
    assert caught.value.response.json()["error"]["code"] == "no_qualified_model"


async def test_provider_failure_is_a_5xx_with_openai_shape(real_stack: RealStack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{real_stack.sim_url}/_sim/faults", json={"kind": "server_error", "count": 50}
        ) as response:
            assert response.status == 201
        try:
            async with _client(real_stack) as client:
                with pytest.raises(openai.InternalServerError) as caught:
                    await client.chat.completions.create(
                        model="mistral/ministral-8b-2512", messages=[{"role": "user", "content": "hi"}]
                    )
            assert caught.value.status_code in (502, 503)
            assert set(caught.value.response.json()["error"]) == {"message", "type", "param", "code"}
        finally:
            async with session.delete(f"{real_stack.sim_url}/_sim/faults") as response:
                assert response.status == 200


async def test_the_key_tenant_budget_applies(real_stack: RealStack) -> None:
    # One request per minute for tenant "capped": of three quick requests at least one crosses the limit (two
    # could straddle a minute boundary, three cannot straddle two).
    refused: list[openai.RateLimitError] = []
    async with openai.AsyncOpenAI(base_url=real_stack.base_url, api_key=real_stack.capped_key, max_retries=0) as c:
        for _ in range(3):
            try:
                await c.chat.completions.create(model="bourse/cheapest", messages=[{"role": "user", "content": "hi"}])
            except openai.RateLimitError as error:
                refused.append(error)
    assert refused
    error = refused[0]
    assert error.response.json()["error"]["code"] == "budget_exceeded"
    assert 1 <= int(error.response.headers["retry-after"]) <= 60


async def test_streamed_tool_call_through_the_real_router(real_stack: RealStack) -> None:
    async with _client(real_stack) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            tool_choice="required",
            stream=True,
        )
        names: list[str] = []
        arguments = ""
        finish = []
        async for chunk in stream:
            if not chunk.choices:
                continue
            for delta in chunk.choices[0].delta.tool_calls or []:
                if delta.function is not None:
                    names += [delta.function.name] if delta.function.name else []
                    arguments += delta.function.arguments or ""
            if chunk.choices[0].finish_reason:
                finish.append(chunk.choices[0].finish_reason)
    assert names == ["get_weather"]
    json.loads(arguments)
    assert finish == ["tool_calls"]
