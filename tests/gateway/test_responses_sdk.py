"""The official openai SDK's `responses.create` against POST /v1/responses: input forms, tools, JSON schema,
streaming with typed events, usage, the stateless 400s and errors."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import openai
import pytest
from bourse.common.v1 import chat_pb2

from tests.gateway.conftest import GatewayStack

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _client(stack: GatewayStack) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0)


async def test_string_input_with_instructions(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        raw = await client.responses.with_raw_response.create(
            model="bourse/cheapest",
            input="hello there",
            instructions="Answer briefly.",
            max_output_tokens=64,
            temperature=0.2,
            metadata={"team": "search"},
            store=True,  # accepted: nothing is stored whatever the flag says
        )
    response = raw.parse()
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "echo: hello there"
    assert response.output[0].type == "message"
    assert response.model == "sim-openai/gpt-sim-mini"
    assert response.id.startswith("resp_")
    assert response.store is False
    assert response.instructions == "Answer briefly."
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (11, 5, 16)
    assert response.usage.input_tokens_details.cached_tokens == 2
    assert raw.headers["x-bourse-cost-usd"] == "0.001234"
    assert (response.model_extra or {})["bourse"]["served_from"] == "remote"
    sent = stack.router.requests[-1]
    assert [m.role for m in sent.chat.messages] == [chat_pb2.ROLE_SYSTEM, chat_pb2.ROLE_USER]
    assert sent.chat.messages[0].content[0].text == "Answer briefly."
    assert sent.chat.sampling.max_tokens == 64
    assert sent.chat.sampling.temperature == pytest.approx(0.2)
    assert sent.context.metadata["team"] == "search"
    assert (sent.context.tenant_id, sent.context.key_id) == ("acme", stack.key_id)


async def test_message_list_input_multi_turn(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        response = await client.responses.create(
            model="bourse/cheapest",
            input=[
                {"role": "developer", "content": "Be terse."},
                {"role": "user", "content": "first"},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "reply", "annotations": []}],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look at"},
                        {"type": "input_image", "image_url": "https://example.com/cat.jpg", "detail": "auto"},
                    ],
                },
            ],
        )
    assert response.output_text == "echo: look at"
    sent = stack.router.requests[-1].chat
    assert [m.role for m in sent.messages] == [
        chat_pb2.ROLE_SYSTEM,
        chat_pb2.ROLE_USER,
        chat_pb2.ROLE_ASSISTANT,
        chat_pb2.ROLE_USER,
    ]
    assert sent.messages[2].content[0].text == "reply"
    assert sent.messages[3].content[1].image.url == "https://example.com/cat.jpg"


async def test_tools_and_function_call_answer(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        response = await client.responses.create(
            model="bourse/cheapest",
            input="tool:get_weather",
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            tool_choice={"type": "function", "name": "get_weather"},
        )
    call = response.output[0]
    assert call.type == "function_call"
    assert (call.call_id, call.name, json.loads(call.arguments)) == ("call_1", "get_weather", {"city": "Paris"})
    assert call.status == "completed"
    assert response.tools[0].type == "function"
    sent = stack.router.requests[-1].chat
    assert sent.tools[0].name == "get_weather"
    assert sent.tool_choice.mode == chat_pb2.TOOL_CHOICE_MODE_NAMED


async def test_function_call_output_round_trip(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        response = await client.responses.create(
            model="bourse/cheapest",
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            tool_choice="required",
            input=[
                {"role": "user", "content": "weather in Paris and Rome?"},
                {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
                {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
                {"type": "function_call_output", "call_id": "c2", "output": "rain"},
                {"role": "user", "content": "so?"},
            ],
        )
    assert response.output_text == "echo: so?"
    sent = stack.router.requests[-1].chat
    roles = [m.role for m in sent.messages]
    assert roles == [
        chat_pb2.ROLE_USER,
        chat_pb2.ROLE_ASSISTANT,
        chat_pb2.ROLE_TOOL,
        chat_pb2.ROLE_TOOL,
        chat_pb2.ROLE_USER,
    ]
    assert [c.id for c in sent.messages[1].tool_calls] == ["c1", "c2"]  # parallel calls: one assistant turn
    assert [(m.tool_call_id, m.content[0].text) for m in sent.messages[2:4]] == [("c1", "sunny"), ("c2", "rain")]
    assert sent.tool_choice.mode == chat_pb2.TOOL_CHOICE_MODE_REQUIRED


async def test_text_format_json_schema(stack: GatewayStack) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    async with _client(stack) as client:
        response = await client.responses.create(
            model="bourse/cheapest",
            input="json",
            text={"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
        )
    assert json.loads(response.output_text) == {"answer": 42}
    fmt = stack.router.requests[-1].chat.response_format
    assert fmt.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    assert (fmt.schema_name, json.loads(fmt.json_schema), fmt.strict) == ("answer", schema, True)
    assert response.text is not None
    assert response.text.format is not None
    assert response.text.format.type == "json_schema"


async def test_stream_typed_events_with_sequence_numbers(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        stream = await client.responses.create(model="bourse/cheapest", input="one two three", stream=True)
        events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == "echo: one two three"
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == "echo: one two three"
    completed = events[-1].response  # type: ignore[union-attr]
    assert completed.status == "completed"
    assert completed.output_text == "echo: one two three"
    assert completed.usage is not None
    assert completed.usage.total_tokens == 16
    assert completed.model == "sim-openai/gpt-sim-mini"
    item_ids = {e.item_id for e in events if hasattr(e, "item_id")}
    assert item_ids == {completed.output[0].id}


async def test_stream_helper_and_function_call_events(stack: GatewayStack) -> None:
    async with (
        _client(stack) as client,
        client.responses.stream(
            model="bourse/cheapest",
            input="tool:get_weather",
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
        ) as stream,
    ):
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    call = final.output[0]
    assert call.type == "function_call"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id == "call_1"


async def test_previous_response_id_is_a_clear_400(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        for extra in ({"previous_response_id": "resp_123"}, {"conversation": "conv_1"}, {"background": True}):
            with pytest.raises(openai.BadRequestError) as caught:
                await client.responses.create(model="bourse/cheapest", input="hi", **extra)  # type: ignore[arg-type]
            error = caught.value.body
            assert isinstance(error, dict)
            assert error["param"] == next(iter(extra))
            assert "stores no responses" in error["message"]


@pytest.mark.parametrize(
    ("text", "exception", "status"),
    [
        ("error:BUDGET_EXCEEDED", openai.RateLimitError, 429),
        ("error:PERMISSION_DENIED", openai.PermissionDeniedError, 403),
        ("error:UPSTREAM_5XX", openai.InternalServerError, 502),
    ],
)
async def test_router_errors_in_openai_shape(
    stack: GatewayStack, text: str, exception: type[Exception], status: int
) -> None:
    async with _client(stack) as client:
        with pytest.raises(exception) as caught:
            await client.responses.create(model="bourse/cheapest", input=text)
    assert isinstance(caught.value, openai.APIStatusError)
    assert caught.value.status_code == status


async def test_error_after_the_stream_started_is_error_then_failed(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        stream = await client.responses.create(model="bourse/cheapest", input="stream-error:UPSTREAM_5XX", stream=True)
        events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert "response.output_text.delta" in kinds
    assert kinds[-2:] == ["error", "response.failed"]
    assert events[-2].code == "upstream_5xx"  # type: ignore[union-attr]
    failed = events[-1].response  # type: ignore[union-attr]
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "upstream_5xx"


async def test_whole_answer_stream_delivers_the_text(stack: GatewayStack) -> None:
    body = {"model": "bourse/cheapest", "input": "whole cached", "stream": True}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            stack.root_url + "/v1/responses", json=body, headers={"Authorization": f"Bearer {stack.key}"}
        ) as response,
    ):
        raw = (await response.read()).decode()
    names = [block.split("\n")[0].removeprefix("event: ") for block in raw.strip().split("\n\n")]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert '"delta":"echo: cached"' in raw
