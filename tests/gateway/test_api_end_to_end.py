"""The anthropic SDK and the openai SDK's Responses API through the gateway, the real router, the provider adapter
and the simulator: any provider answers either API."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.gateway.conftest import RealStack

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _anthropic(stack: RealStack) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=stack.base_url.removesuffix("/v1"), api_key=stack.key, max_retries=0)


def _openai(stack: RealStack) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0)


async def test_anthropic_client_answered_by_any_provider(real_stack: RealStack) -> None:
    async with _anthropic(real_stack) as client:
        raw = await client.messages.with_raw_response.create(
            model="mistral/ministral-8b-2512",
            max_tokens=16,
            system="Be brief.",
            messages=[{"role": "user", "content": "Say hello"}],
        )
        message = await raw.parse()
    assert raw.headers["x-bourse-provider"] == "mistral"
    assert message.model == "mistral/ministral-8b-2512"
    assert message.content[0].type == "text"
    assert message.content[0].text
    assert message.usage.output_tokens > 0
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert float(raw.headers["x-bourse-cost-usd"]) > 0


async def test_anthropic_stream_and_tools_through_the_real_router(real_stack: RealStack) -> None:
    async with (
        _anthropic(real_stack) as client,
        client.messages.stream(
            model="bourse/cheapest", max_tokens=32, messages=[{"role": "user", "content": "Count to five"}]
        ) as stream,
    ):
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text
    assert final.usage.output_tokens > 0
    assert final.usage.input_tokens > 0

    async with _anthropic(real_stack) as client:
        message = await client.messages.create(
            model="bourse/cheapest",
            max_tokens=64,
            tools=[{"name": "get_weather", "input_schema": WEATHER}],
            tool_choice={"type": "any"},
            messages=[{"role": "user", "content": "weather in Paris?"}],
        )
    tool_uses = [block for block in message.content if block.type == "tool_use"]
    assert tool_uses, message
    assert tool_uses[0].name == "get_weather"
    assert isinstance(tool_uses[0].input, dict)
    assert message.stop_reason == "tool_use"


async def test_anthropic_error_from_the_real_router(real_stack: RealStack) -> None:
    async with _anthropic(real_stack) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(
                model="bourse/best",
                max_tokens=8,
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"bourse": {"max_cost_usd": 0.0000001, "no_local": True}},
            )
    assert caught.value.body["error"]["code"] == "no_qualified_model"  # type: ignore[index]


async def test_responses_through_the_real_router(real_stack: RealStack) -> None:
    async with _openai(real_stack) as client:
        response = await client.responses.create(
            model="bourse/cheapest", input="Say hello", instructions="Be brief.", max_output_tokens=16
        )
        assert response.output_text
        assert response.usage is not None
        assert response.usage.output_tokens > 0
        assert response.status in ("completed", "incomplete")

        stream = await client.responses.create(model="bourse/cheapest", input="Count to five", stream=True)
        events = [event async for event in stream]
    assert events[0].type == "response.created"
    assert events[-1].type in ("response.completed", "response.incomplete")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas
    assert deltas == events[-1].response.output_text  # type: ignore[union-attr]


async def test_responses_function_call_through_the_real_router(real_stack: RealStack) -> None:
    async with _openai(real_stack) as client:
        response = await client.responses.create(
            model="bourse/cheapest",
            input="weather in Paris?",
            tools=[{"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": None}],
            tool_choice="required",
        )
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls, response
    assert calls[0].name == "get_weather"
    assert isinstance(json.loads(calls[0].arguments), dict)
