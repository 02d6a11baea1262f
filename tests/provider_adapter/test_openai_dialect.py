"""OpenAI Chat Completions: translation, quirks as data, parsing documented responses and streams, usage."""

from __future__ import annotations

import json

import pytest
from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.openai import chat as openai_chat
from services.provider_adapter.core.dialects.openai.stream import OpenAIStreamDecoder
from services.provider_adapter.core.quirks import Quirks
from services.provider_adapter.core.sse import SseParser
from shared.errors import InvalidRequest, UpstreamError
from tests.provider_adapter.chat_requests import WEATHER_SCHEMA, call, tool_conversation, user_chat
from tests.provider_adapter.fixtures import body_bytes, sse_bytes


def test_translation_of_every_role_and_tool_ids() -> None:
    body = openai_chat.translate(call(tool_conversation()), Quirks(), stream=False)
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert body["messages"][0]["content"] == "You are a weather bot."
    assistant = body["messages"][2]
    assert assistant["tool_calls"] == [
        {"id": "call_42", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}}
    ]
    assert body["messages"][3] == {"role": "tool", "content": '{"temperature_c": 21}', "tool_call_id": "call_42"}
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA, "description": "Current weather"},
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["temperature"] == pytest.approx(0.2)
    assert body["top_p"] == pytest.approx(0.9)
    assert body["max_tokens"] == 64
    assert body["stop"] == ["END"]
    assert "stream" not in body


def test_stream_asks_for_the_usage_chunk() -> None:
    body = openai_chat.translate(call(user_chat()), Quirks(), stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in openai_chat.translate(call(user_chat()), Quirks(stream_usage=False), stream=True)


def test_quirks_rename_fields_per_provider() -> None:
    chat = user_chat(max_tokens=10, seed=3)
    chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_REQUIRED
    chat.tools.add(name="t")
    mistral = Quirks(seed_field="random_seed", tool_choice_required="any", max_tokens_field="max_tokens")
    body = openai_chat.translate(call(chat, "mistral"), mistral, stream=False)
    assert body["random_seed"] == 3
    assert body["tool_choice"] == "any"
    openai = openai_chat.translate(call(chat), Quirks(max_tokens_field="max_completion_tokens"), stream=False)
    assert openai["max_completion_tokens"] == 10
    assert openai["seed"] == 3
    assert openai["tool_choice"] == "required"
    assert openai["tools"][0]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_json_modes() -> None:
    chat = user_chat()
    chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
    assert openai_chat.translate(call(chat), Quirks(), stream=False)["response_format"] == {"type": "json_object"}
    chat.response_format.CopyFrom(
        chat_pb2.ResponseFormat(
            type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
            schema_name="weather",
            json_schema=json.dumps(WEATHER_SCHEMA),
            strict=True,
        )
    )
    assert openai_chat.translate(call(chat), Quirks(), stream=False)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "weather", "schema": WEATHER_SCHEMA, "strict": True},
    }


def test_images_become_content_parts() -> None:
    chat = user_chat()
    chat.messages[1].content.add().image.CopyFrom(chat_pb2.ImagePart(data=b"\x89PNG", media_type="image/png"))
    content = openai_chat.translate(call(chat), Quirks(), stream=False)["messages"][1]["content"]
    assert content[0] == {"type": "text", "text": "Say hello."}
    assert content[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}


def test_unsupported_field_is_reported_not_dropped() -> None:
    chat = user_chat()
    chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    with pytest.raises(UpstreamError) as caught:
        openai_chat.translate(
            call(chat, "deepseek"), Quirks(unsupported=frozenset({"response_format.json_schema"})), stream=False
        )
    assert caught.value.reason == "UNSUPPORTED_FIELD"
    assert caught.value.metadata == {"provider": "deepseek", "model": "m", "field": "response_format.json_schema"}
    assert caught.value.retryable


def test_temperature_above_the_provider_range_is_unsupported() -> None:
    with pytest.raises(UpstreamError) as caught:
        openai_chat.translate(call(user_chat(temperature=1.8)), Quirks(max_temperature=1.5), stream=False)
    assert caught.value.metadata["field"] == "sampling.temperature"


def test_bad_tool_schema_is_invalid_argument() -> None:
    chat = user_chat()
    chat.tools.add(name="t", parameters_json_schema="{not json")
    with pytest.raises(InvalidRequest) as caught:
        openai_chat.translate(call(chat), Quirks(), stream=False)
    assert caught.value.violations[0].field == "chat.tools[0].parameters_json_schema"


def test_parse_documented_response() -> None:
    completion, response_id = openai_chat.parse(body_bytes("openai", "chat_response.json"), 100)
    assert response_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert completion.content == "Hello! How can I assist you today?"
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage == chat_pb2.Usage(prompt_tokens=19, completion_tokens=10)


def test_parse_documented_tool_call() -> None:
    completion, _ = openai_chat.parse(body_bytes("openai", "chat_tool_call_response.json"), 100)
    assert completion.content == ""
    assert completion.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert completion.tool_calls[0].id == "call_abc123"
    assert json.loads(completion.tool_calls[0].arguments_json) == {"location": "Boston, MA"}


def test_cached_and_reasoning_tokens() -> None:
    completion, _ = openai_chat.parse(body_bytes("openai", "reasoning_cached_usage.json"), 100)
    assert completion.usage == chat_pb2.Usage(
        prompt_tokens=2006, completion_tokens=300, cached_prompt_tokens=1920, reasoning_tokens=192
    )


def test_deepseek_cache_hit_tokens() -> None:
    body = {
        "id": "x",
        "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "prompt_cache_hit_tokens": 64,
            "prompt_cache_miss_tokens": 36,
        },
    }
    completion, _ = openai_chat.parse(json.dumps(body).encode(), 10)
    assert completion.usage.cached_prompt_tokens == 64


def test_missing_usage_is_estimated_and_marked() -> None:
    body = {"id": "x", "choices": [{"index": 0, "message": {"content": "a" * 40}, "finish_reason": "stop"}]}
    completion, _ = openai_chat.parse(json.dumps(body).encode(), 400)
    assert completion.usage == chat_pb2.Usage(prompt_tokens=100, completion_tokens=10, estimated=True)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"id": "x", "choices": []}'])
def test_malformed_responses_are_bad_response(body: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        openai_chat.parse(body, 0)
    assert caught.value.reason == "BAD_RESPONSE"


def decode_stream(data: bytes, piece: int) -> tuple[list[chat_pb2.ChatDelta], OpenAIStreamDecoder]:
    parser, decoder = SseParser(), OpenAIStreamDecoder(40)
    deltas: list[chat_pb2.ChatDelta] = []
    for start in range(0, len(data), piece):
        for event in parser.feed(data[start : start + piece]):
            deltas += decoder.on_event(event.event, event.data)
    for event in parser.close():
        deltas += decoder.on_event(event.event, event.data)
    decoder.close()
    return deltas, decoder


@pytest.mark.parametrize("piece", [1, 3, 17, 10_000])
def test_documented_stream_with_usage_chunk(piece: int) -> None:
    deltas, decoder = decode_stream(sse_bytes("openai", "chat_stream.sse"), piece)
    assert "".join(d.content for d in deltas) == "Hello! How can I help? 😊"
    completion, response_id = decoder.result()
    assert response_id == "chatcmpl-123"
    assert completion.content == ""
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage == chat_pb2.Usage(prompt_tokens=9, completion_tokens=9)


@pytest.mark.parametrize("piece", [1, 29, 10_000])
def test_documented_tool_call_stream(piece: int) -> None:
    deltas, decoder = decode_stream(sse_bytes("openai", "chat_stream_tool_calls.sse"), piece)
    assert deltas[0].tool_calls[0].id == "call_DdmO9pD3xa9XTPNJ32zg2hcA"
    completion, _ = decoder.result()
    assert completion.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert json.loads(completion.tool_calls[0].arguments_json) == {"location": "Paris, France"}
    assert completion.usage.estimated  # no usage chunk in this stream


def test_stream_without_done_is_connection_dropped() -> None:
    data = sse_bytes("openai", "chat_stream.sse").replace(b"data: [DONE]", b"")
    with pytest.raises(UpstreamError) as caught:
        decode_stream(data, 64)
    assert caught.value.reason == "CONNECTION_DROPPED"


def test_error_event_mid_stream() -> None:
    decoder = OpenAIStreamDecoder(0)
    decoder.on_event("message", '{"id": "a", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}')
    with pytest.raises(UpstreamError) as caught:
        decoder.on_event(
            "message", '{"error": {"message": "Overloaded", "type": "server_error", "code": "overloaded"}}'
        )
    assert caught.value.reason == "OVERLOADED"


def test_openrouter_error_code_inside_a_stream_event() -> None:
    decoder = OpenAIStreamDecoder(0)
    with pytest.raises(UpstreamError) as caught:
        decoder.on_event("message", '{"error": {"code": 429, "message": "Provider returned error"}}')
    assert caught.value.reason == "RATE_LIMITED"


def test_error_body_in_a_200_answer() -> None:
    with pytest.raises(UpstreamError) as caught:
        openai_chat.parse(b'{"error": {"code": 502, "message": "upstream failed"}}', 0)
    assert caught.value.reason == "UPSTREAM_5XX"
