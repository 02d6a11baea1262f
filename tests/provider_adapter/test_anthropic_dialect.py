"""Anthropic Messages: system placement, content blocks, tool_use/tool_result, streams, usage with cache."""

from __future__ import annotations

import json

import pytest
from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.anthropic import messages as anthropic_messages
from services.provider_adapter.core.dialects.anthropic.stream import AnthropicStreamDecoder
from services.provider_adapter.core.quirks import Quirks
from shared.errors import UpstreamError
from tests.provider_adapter.chat_requests import WEATHER_SCHEMA, call, tool_conversation, user_chat
from tests.provider_adapter.fixtures import body_bytes, sse_bytes
from tests.provider_adapter.stream_decoding import decode

QUIRKS = Quirks(max_temperature=1.0)


def test_translation_of_a_tool_conversation() -> None:
    wire = anthropic_messages.wire_request(call(tool_conversation(), "anthropic"), QUIRKS, stream=False)
    assert wire.path == "/v1/messages"
    assert wire.headers == {"anthropic-version": "2023-06-01"}
    body = wire.body
    assert body["system"] == "You are a weather bot."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_42", "name": "get_weather", "input": {"location": "Paris"}}
    ]
    # The tool result and the next user text share one user turn, result first.
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_42", "content": '{"temperature_c": 21}'},
        {"type": "text", "text": "And tomorrow?"},
    ]
    assert body["tools"] == [{"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA}]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert body["max_tokens"] == 64
    assert body["stop_sequences"] == ["END"]
    assert body["temperature"] == pytest.approx(0.2)
    assert body["top_p"] == pytest.approx(0.9)


def test_max_tokens_is_always_sent() -> None:
    body = anthropic_messages.translate(call(user_chat(), "anthropic"), Quirks(default_max_tokens=777), stream=True)
    assert body["max_tokens"] == 777
    assert body["stream"] is True


def test_images_as_base64_and_url_sources() -> None:
    chat = user_chat()
    chat.messages[1].content.add().image.CopyFrom(chat_pb2.ImagePart(data=b"\x89PNG", media_type="image/png"))
    chat.messages[1].content.add().image.url = "https://example.com/cat.jpg"
    blocks = anthropic_messages.translate(call(chat, "anthropic"), QUIRKS, stream=False)["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw=="}}
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda c: setattr(c.response_format, "type", chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT),
            "response_format.json_object",
        ),
        (
            lambda c: setattr(c.response_format, "type", chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA),
            "response_format.json_schema",
        ),
        (lambda c: setattr(c.sampling, "seed", 1), "sampling.seed"),
        (lambda c: setattr(c.sampling, "temperature", 1.5), "sampling.temperature"),
        (lambda c: c.tools.add(name="t", strict=True), "tools.strict"),
        (lambda c: setattr(c.messages[1], "name", "alice"), "message.name"),
    ],
)
def test_fields_the_messages_api_cannot_honour(mutate: object, field: str) -> None:
    chat = user_chat()
    mutate(chat)  # type: ignore[operator]
    with pytest.raises(UpstreamError) as caught:
        anthropic_messages.translate(call(chat, "anthropic"), QUIRKS, stream=False)
    assert caught.value.reason == "UNSUPPORTED_FIELD"
    assert caught.value.metadata["field"] == field


def test_parse_documented_response() -> None:
    completion, response_id = anthropic_messages.parse(body_bytes("anthropic", "messages_response.json"), 0)
    assert response_id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert completion.content == "Hi! My name is Claude."
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage == chat_pb2.Usage(prompt_tokens=2095, completion_tokens=503)


def test_parse_documented_tool_use() -> None:
    completion, _ = anthropic_messages.parse(body_bytes("anthropic", "messages_tool_use_response.json"), 0)
    assert completion.content == "I'll check the current weather in San Francisco for you."
    assert completion.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert completion.tool_calls[0].id == "toolu_01A09q90qw90lq917835lq9"
    assert json.loads(completion.tool_calls[0].arguments_json) == {"location": "San Francisco, CA", "unit": "celsius"}


def test_cache_write_and_read_tokens_count_as_prompt() -> None:
    completion, _ = anthropic_messages.parse(body_bytes("anthropic", "prompt_caching_usage.json"), 0)
    assert completion.usage == chat_pb2.Usage(
        prompt_tokens=21 + 188086, completion_tokens=393, cached_prompt_tokens=0, cache_write_tokens=188086
    )


@pytest.mark.parametrize("piece", [1, 13, 100_000])
def test_documented_stream(piece: int) -> None:
    decoder = AnthropicStreamDecoder(0)
    deltas = decode(decoder, sse_bytes("anthropic", "messages_stream.sse"), piece)
    assert "".join(d.content for d in deltas) == "Hello!"
    completion, response_id = decoder.result()
    assert response_id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage == chat_pb2.Usage(prompt_tokens=25, completion_tokens=15)


@pytest.mark.parametrize("piece", [1, 64, 100_000])
def test_documented_tool_use_stream(piece: int) -> None:
    decoder = AnthropicStreamDecoder(0)
    deltas = decode(decoder, sse_bytes("anthropic", "messages_stream_tool_use.sse"), piece)
    assert "".join(d.content for d in deltas) == "Okay, let's check the weather for San Francisco, CA:"
    completion, _ = decoder.result()
    assert completion.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert completion.tool_calls[0].id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert completion.tool_calls[0].name == "get_weather"
    assert json.loads(completion.tool_calls[0].arguments_json) == {
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }
    assert completion.usage == chat_pb2.Usage(prompt_tokens=472, completion_tokens=89)


def test_error_event_mid_stream_is_overloaded() -> None:
    with pytest.raises(UpstreamError) as caught:
        decode(AnthropicStreamDecoder(0), sse_bytes("anthropic", "messages_stream_error.sse"), 50)
    assert caught.value.reason == "OVERLOADED"


def test_stream_cut_before_message_stop_is_dropped() -> None:
    data = sse_bytes("anthropic", "messages_stream.sse")
    cut = data[: data.index(b"event: message_delta")]
    with pytest.raises(UpstreamError) as caught:
        decode(AnthropicStreamDecoder(0), cut, 50)
    assert caught.value.reason == "CONNECTION_DROPPED"
