"""The official anthropic SDK against POST /v1/messages: unary, streaming, tools, images, errors, keys."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import anthropic
import pytest
from bourse.common.v1 import chat_pb2

from tests.gateway.conftest import GatewayStack

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _client(stack: GatewayStack, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=stack.root_url, api_key=stack.key, max_retries=0, **kwargs)


async def test_unary_message_with_system_and_metadata(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        raw = await client.messages.with_raw_response.create(
            model="bourse/cheapest",
            max_tokens=64,
            system="Answer briefly.",
            messages=[{"role": "user", "content": "hello there"}],
            stop_sequences=["END"],
            metadata={"user_id": "u-42"},
            output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
            extra_body={"temperature": 0.5},
        )
    message = await raw.parse()
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: hello there"
    assert message.stop_reason == "end_turn"
    assert message.model == "sim-openai/gpt-sim-mini"
    # 11 prompt tokens of which 2 came from the provider's cache: Anthropic counts those apart.
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens, message.usage.output_tokens) == (9, 2, 5)
    assert message.id.startswith("msg_")
    assert raw.headers["x-bourse-cost-usd"] == "0.001234"
    assert raw.headers["x-bourse-served-from"] == "remote"
    assert (message.model_extra or {})["bourse"]["provider"] == "sim-openai"
    sent = stack.router.requests[-1]
    assert [m.role for m in sent.chat.messages] == [chat_pb2.ROLE_SYSTEM, chat_pb2.ROLE_USER]
    assert sent.chat.messages[0].content[0].text == "Answer briefly."
    assert sent.chat.sampling.max_tokens == 64
    assert list(sent.chat.sampling.stop) == ["END"]
    assert sent.chat.sampling.temperature == pytest.approx(0.5)
    assert sent.context.metadata["user"] == "u-42"
    assert sent.chat.response_format.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    assert sent.chat.response_format.json_schema == '{"type":"object"}'
    assert (sent.context.tenant_id, sent.context.key_id) == ("acme", stack.key_id)


async def test_multi_turn_and_content_blocks(stack: GatewayStack) -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    async with _client(stack) as client:
        message = await client.messages.create(
            model="bourse/cheapest",
            max_tokens=32,
            system=[{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}],
            messages=[
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": [{"type": "text", "text": "reply"}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                        {"type": "text", "text": "what is this"},
                    ],
                },
            ],
        )
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: what is this"
    sent = stack.router.requests[-1].chat
    assert [m.role for m in sent.messages] == [
        chat_pb2.ROLE_SYSTEM,
        chat_pb2.ROLE_USER,
        chat_pb2.ROLE_ASSISTANT,
        chat_pb2.ROLE_USER,
    ]
    assert [p.text for p in sent.messages[0].content] == ["Rule one.", "Rule two."]
    images = [p.image for p in sent.messages[3].content if p.HasField("image")]
    assert (images[0].data, images[0].media_type) == (b"\x89PNG fake", "image/png")
    assert images[1].url == "https://example.com/cat.jpg"


async def test_tools_named_choice_and_tool_use_answer(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        message = await client.messages.create(
            model="bourse/cheapest",
            max_tokens=64,
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "get_weather"},
            messages=[{"role": "user", "content": "tool:get_weather"}],
        )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("call_1", "get_weather", {"city": "Paris"})
    sent = stack.router.requests[-1].chat
    assert sent.tools[0].name == "get_weather"
    assert '"city"' in sent.tools[0].parameters_json_schema
    assert sent.tool_choice.mode == chat_pb2.TOOL_CHOICE_MODE_NAMED
    assert sent.tool_choice.name == "get_weather"


async def test_tool_result_round_trip(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        message = await client.messages.create(
            model="bourse/cheapest",
            max_tokens=64,
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            tool_choice={"type": "any"},
            messages=[
                {"role": "user", "content": "weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Let me look."},
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny, 21 C"},
                        {"type": "text", "text": "and tomorrow"},
                    ],
                },
            ],
        )
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: and tomorrow"
    sent = stack.router.requests[-1].chat
    assert [m.role for m in sent.messages] == [
        chat_pb2.ROLE_USER,
        chat_pb2.ROLE_ASSISTANT,
        chat_pb2.ROLE_TOOL,
        chat_pb2.ROLE_USER,
    ]
    assistant = sent.messages[1]
    assert assistant.content[0].text == "Let me look."
    assert (assistant.tool_calls[0].id, assistant.tool_calls[0].name) == ("toolu_1", "get_weather")
    assert assistant.tool_calls[0].arguments_json == '{"city":"Paris"}'
    assert (sent.messages[2].tool_call_id, sent.messages[2].content[0].text) == ("toolu_1", "sunny, 21 C")
    assert sent.tool_choice.mode == chat_pb2.TOOL_CHOICE_MODE_REQUIRED


async def test_stream_text_and_final_message(stack: GatewayStack) -> None:
    async with (
        _client(stack) as client,
        client.messages.stream(
            model="bourse/cheapest", max_tokens=64, messages=[{"role": "user", "content": "one two three"}]
        ) as stream,
    ):
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert len(pieces) > 1
    assert "".join(pieces) == "echo: one two three"
    assert final.content[0].type == "text"
    assert final.content[0].text == "echo: one two three"
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (9, 5)


async def test_stream_event_sequence_is_anthropics(stack: GatewayStack) -> None:
    """The raw SSE: event names, their order, and each data's `type` matching its event name."""
    body = {
        "model": "bourse/cheapest",
        "max_tokens": 16,
        "stream": True,
        "messages": [{"role": "user", "content": "a b"}],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.root_url + "/v1/messages", json=body, headers={"x-api-key": stack.key}) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        raw = (await response.read()).decode()
    events = [block.split("\n") for block in raw.strip().split("\n\n")]
    names = [lines[0].removeprefix("event: ") for lines in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for lines in events:
        assert lines[1].startswith("data: ")
        assert f'"type":"{lines[0].removeprefix("event: ")}"' in lines[1]
    assert '"stop_reason":"end_turn"' in events[-2][1]


async def test_streamed_tool_use_assembles_input_json(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        stream = await client.messages.create(
            model="bourse/cheapest",
            max_tokens=64,
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            messages=[{"role": "user", "content": "tool:get_weather"}],
            stream=True,
        )
        events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    json_deltas = [
        e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert "".join(json_deltas) == '{"city": "Paris"}'
    starts = [e.content_block for e in events if e.type == "content_block_start"]
    tool_start = starts[-1]
    assert tool_start.type == "tool_use"
    assert (tool_start.id, tool_start.name) == ("call_1", "get_weather")
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "tool_use"

    async with (
        _client(stack) as client,
        client.messages.stream(
            model="bourse/cheapest",
            max_tokens=64,
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            messages=[{"role": "user", "content": "tool:get_weather"}],
        ) as helper,
    ):
        final = await helper.get_final_message()
    tool_blocks = [b for b in final.content if b.type == "tool_use"]
    assert tool_blocks[0].input == {"city": "Paris"}


async def test_stream_of_a_whole_answer_still_has_blocks(stack: GatewayStack) -> None:
    async with (
        _client(stack) as client,
        client.messages.stream(
            model="bourse/cheapest", max_tokens=64, messages=[{"role": "user", "content": "whole cached"}]
        ) as stream,
    ):
        final = await stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "echo: cached"


@pytest.mark.parametrize(
    ("text", "status", "exception", "error_type"),
    [
        ("error:BUDGET_EXCEEDED", 429, anthropic.RateLimitError, "rate_limit_error"),
        ("error:NO_QUALIFIED_MODEL", 400, anthropic.BadRequestError, "invalid_request_error"),
        ("error:PERMISSION_DENIED", 403, anthropic.PermissionDeniedError, "permission_error"),
        ("error:UPSTREAM_5XX", 502, anthropic.InternalServerError, "api_error"),
        ("error:INTERNAL", 500, anthropic.InternalServerError, "api_error"),
        ("error:OVERLOADED", 503, anthropic.ServiceUnavailableError, "overloaded_error"),
        ("error:DEADLINE_EXCEEDED", 504, anthropic.InternalServerError, "timeout_error"),
    ],
)
async def test_router_errors_in_anthropic_shape(
    stack: GatewayStack, text: str, status: int, exception: type[Exception], error_type: str
) -> None:
    async with _client(stack) as client:
        with pytest.raises(exception) as caught:
            await client.messages.create(
                model="bourse/cheapest", max_tokens=8, messages=[{"role": "user", "content": text}]
            )
    error = caught.value
    assert isinstance(error, anthropic.APIStatusError)
    assert error.status_code == status
    body = error.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]


async def test_unknown_model_is_not_found(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        with pytest.raises(anthropic.NotFoundError) as caught:
            await client.messages.create(
                model="bourse/nonexistent", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
            )
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


async def test_error_after_the_stream_started_is_an_error_event(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        stream = await client.messages.create(
            model="bourse/cheapest",
            max_tokens=8,
            messages=[{"role": "user", "content": "stream-error:UPSTREAM_5XX"}],
            stream=True,
        )
        seen: list[str] = []
        with pytest.raises(anthropic.APIStatusError) as caught:
            async for event in stream:
                seen.append(event.type)  # noqa: PERF401 -- a comprehension would lose what came before the error
    assert "content_block_delta" in seen
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]


async def test_keys_via_x_api_key_and_bearer(stack: GatewayStack) -> None:
    body = {"model": "bourse/cheapest", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    url = stack.root_url + "/v1/messages"
    async with aiohttp.ClientSession() as session:
        for headers in ({"x-api-key": stack.key}, {"Authorization": f"Bearer {stack.key}"}):
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["content"][0]["text"] == "echo: hi"
        for headers in ({}, {"x-api-key": stack.key + "x"}, {"x-api-key": "nonsense"}):
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 401
                error = await response.json()
                assert error["type"] == "error"
                assert error["error"]["type"] == "authentication_error"


async def test_aliases_and_bourse_headers_apply(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        await client.messages.create(
            model="bourse/extraction",
            max_tokens=8,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-bourse-max-cost-usd": "0.002", "x-bourse-denied-providers": "groq"},
            extra_body={"bourse": {"regions": ["eu-west"]}},
        )
    constraints = stack.router.requests[-1].constraints
    assert constraints.max_cost_micro_usd == 2000
    assert list(constraints.denied_providers) == ["groq"]
    assert list(constraints.regions) == ["eu-west"]
    assert constraints.task_kind != 0
