"""The official openai SDK against the gateway: sync, async, streaming, tools, JSON mode, headers."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from bourse.common.v1 import chat_pb2, routing_pb2

from tests.gateway.conftest import GatewayStack


def _async_client(stack: GatewayStack, **kwargs: object) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, **kwargs)  # type: ignore[arg-type]


async def test_sync_client_chat_completion(stack: GatewayStack) -> None:
    def call() -> openai.types.chat.ChatCompletion:
        with openai.OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0) as client:
            return client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "hello there"}]
            )

    completion = await asyncio.to_thread(call)
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "sim-openai/gpt-sim-mini"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        11,
        5,
        16,
    )
    sent = stack.router.requests[-1]
    assert sent.context.tenant_id == "acme"
    assert sent.context.key_id == stack.key_id
    assert sent.chat.messages[0].role == chat_pb2.ROLE_USER


async def test_async_client_response_headers(stack: GatewayStack) -> None:
    async with _async_client(stack) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "hi"}]
        )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hi"
    assert raw.headers["x-bourse-provider"] == "sim-openai"
    assert raw.headers["x-bourse-model"] == "gpt-sim-mini"
    assert raw.headers["x-bourse-cost-usd"] == "0.001234"
    assert raw.headers["x-bourse-served-from"] == "remote"
    assert raw.headers["x-bourse-attempts"] == "1"
    assert raw.headers["x-request-id"]
    extra = completion.model_extra or {}
    assert extra["bourse"]["cost_usd"] == "0.001234"


async def test_streaming_with_usage_chunk(stack: GatewayStack) -> None:
    async with _async_client(stack) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "one two three"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 16
    assert chunks[-2].model == "sim-openai/gpt-sim-mini"
    assert (chunks[-2].model_extra or {})["bourse"]["served_from"] == "remote"


async def test_streaming_without_usage_has_no_usage_chunk(stack: GatewayStack) -> None:
    async with _async_client(stack) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "a b"}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_tools_round_trip(stack: GatewayStack) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "strict": True,
            },
        }
    ]
    async with _async_client(stack) as client:
        completion = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "tool:get_weather"}],
            tools=tools,  # type: ignore[arg-type]
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
        call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert completion.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather"  # type: ignore[union-attr]
        assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
        sent = stack.router.requests[-1].chat
        assert sent.tools[0].name == "get_weather"
        assert json.loads(sent.tools[0].parameters_json_schema)["required"] == ["city"]
        assert sent.tools[0].strict
        assert sent.tool_choice.mode == chat_pb2.TOOL_CHOICE_MODE_NAMED
        assert sent.tool_choice.name == "get_weather"

        # The tool result goes back as a tool message answering the call id.
        await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
                {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
            ],
            tools=tools,  # type: ignore[arg-type]
        )
        history = stack.router.requests[-1].chat.messages
        assert history[1].tool_calls[0].id == "call_1"
        assert history[2].role == chat_pb2.ROLE_TOOL
        assert history[2].tool_call_id == "call_1"


async def test_streamed_tool_call_is_assembled_by_the_sdk(stack: GatewayStack) -> None:
    async with _async_client(stack) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "tool:lookup"}],
            tools=[{"type": "function", "function": {"name": "lookup"}}],
            stream=True,
        )
        arguments = ""
        names = []
        async for chunk in stream:
            for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                if delta.function and delta.function.name:
                    names.append(delta.function.name)
                arguments += (delta.function.arguments or "") if delta.function else ""
    assert names == ["lookup"]
    assert json.loads(arguments) == {"city": "Paris"}


async def test_json_mode(stack: GatewayStack) -> None:
    async with _async_client(stack) as client:
        completion = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "json"}],
            response_format={"type": "json_object"},
        )
        assert json.loads(completion.choices[0].message.content or "") == {"answer": 42}
        assert stack.router.requests[-1].chat.response_format.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT

        await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "json"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
            },
        )
        fmt = stack.router.requests[-1].chat.response_format
        assert fmt.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
        assert fmt.schema_name == "answer"
        assert json.loads(fmt.json_schema) == {"type": "object"}


async def test_models_list_and_retrieve(stack: GatewayStack) -> None:
    async with _async_client(stack) as client:
        ids = [m.id async for m in client.models.list()]
        assert "sim-openai/gpt-sim-mini" in ids
        assert {"bourse/cheapest", "bourse/fast", "bourse/best", "bourse/classification"} <= set(ids)
        model = await client.models.retrieve("sim-anthropic/claude-sim")
        assert model.owned_by == "sim-anthropic"
        with pytest.raises(openai.NotFoundError):
            await client.models.retrieve("nope/nothing")


@pytest.mark.parametrize(
    ("model", "check"),
    [
        ("bourse/cheapest", lambda c: c.task_kind == 0 and not c.allowed_models and c.min_tier == 0),
        ("bourse/fast", lambda c: c.hedge and c.latency_budget_ms == 2000),
        ("bourse/best", lambda c: c.min_tier == routing_pb2.MODEL_TIER_FRONTIER),
        ("bourse/classification", lambda c: c.task_kind == routing_pb2.TASK_KIND_CLASSIFICATION),
        ("sim-openai/gpt-sim-mini", lambda c: list(c.allowed_models) == ["sim-openai/gpt-sim-mini"]),
        ("claude-sim", lambda c: list(c.allowed_models) == ["claude-sim"]),
    ],
)
async def test_model_field_chooses_the_route(stack: GatewayStack, model: str, check: object) -> None:
    async with _async_client(stack) as client:
        await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert check(stack.router.requests[-1].constraints)  # type: ignore[operator]


async def test_constraints_from_body_and_headers(stack: GatewayStack) -> None:
    async with _async_client(
        stack,
        default_headers={
            "x-bourse-max-cost-usd": "0.5",
            "x-bourse-denied-providers": "sim-anthropic, other",
            "x-bourse-no-cache": "true",
            "x-bourse-task-kind": "code",
        },
    ) as client:
        await client.chat.completions.create(
            model="bourse/fast",
            messages=[{"role": "user", "content": "x"}],
            user="u-1",
            extra_body={
                "bourse": {
                    "task_kind": "extraction",
                    "output_pattern": "[0-9]+",
                    "regions": ["eu-west"],
                    "cache": {"ttl_seconds": 60},
                    "request_id": "req-abc",
                    "metadata": {"team": "search"},
                }
            },
        )
    sent = stack.router.requests[-1]
    c = sent.constraints
    assert c.max_cost_micro_usd == 500_000
    assert list(c.denied_providers) == ["sim-anthropic", "other"]
    assert c.task_kind == routing_pb2.TASK_KIND_EXTRACTION  # the body wins over the header
    assert c.output_pattern == "[0-9]+"
    assert list(c.regions) == ["eu-west"]
    assert c.cache.no_cache  # header and body cache fields merge
    assert c.cache.ttl_seconds == 60
    assert c.hedge  # from the alias
    assert sent.context.request_id == "req-abc"
    assert dict(sent.context.metadata) == {"user": "u-1", "team": "search"}


@pytest.mark.parametrize("script", ["whole hello", "whole tool:lookup"])
async def test_stream_of_a_whole_answer_still_delivers_it(stack: GatewayStack, script: str) -> None:
    async with _async_client(stack) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": script}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert len(chunks) == 1
    delta = chunks[0].choices[0].delta
    if script == "whole hello":
        assert delta.content == "echo: hello"
        assert chunks[0].choices[0].finish_reason == "stop"
    else:
        assert delta.tool_calls is not None
        assert delta.tool_calls[0].function is not None
        assert delta.tool_calls[0].function.name == "lookup"
        assert json.loads(delta.tool_calls[0].function.arguments or "") == {"city": "Paris"}
        assert chunks[0].choices[0].finish_reason == "tool_calls"
