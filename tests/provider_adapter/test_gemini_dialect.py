"""Gemini generateContent: systemInstruction, contents/parts, functionCall/functionResponse, usageMetadata."""

from __future__ import annotations

import json

import pytest
from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.gemini import generate as gemini_generate
from services.provider_adapter.core.dialects.gemini.stream import GeminiStreamDecoder
from services.provider_adapter.core.quirks import Quirks
from shared.errors import UpstreamError
from tests.provider_adapter.chat_requests import WEATHER_SCHEMA, call, tool_conversation, user_chat
from tests.provider_adapter.fixtures import body_bytes, sse_bytes
from tests.provider_adapter.stream_decoding import decode


def test_translation_of_a_tool_conversation() -> None:
    wire = gemini_generate.wire_request(call(tool_conversation(), "gemini", "gemini-2.5-flash"), Quirks(), stream=False)
    assert wire.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    body = wire.body
    assert body["systemInstruction"] == {"parts": [{"text": "You are a weather bot."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}, "id": "call_42"}}
    ]
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"temperature_c": 21}, "id": "call_42"}},
        {"text": "And tomorrow?"},
    ]
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Current weather", "parametersJsonSchema": WEATHER_SCHEMA}
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
    }


def test_stream_path_asks_for_sse() -> None:
    wire = gemini_generate.wire_request(call(user_chat(), "gemini", "g"), Quirks(), stream=True)
    assert wire.path == "/v1beta/models/g:streamGenerateContent?alt=sse"


def test_json_schema_and_seed() -> None:
    chat = user_chat(seed=9)
    chat.response_format.CopyFrom(
        chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps(WEATHER_SCHEMA))
    )
    config = gemini_generate.translate(call(chat, "gemini"), Quirks())["generationConfig"]
    assert config == {"seed": 9, "responseMimeType": "application/json", "responseJsonSchema": WEATHER_SCHEMA}


def test_plain_text_tool_result_is_wrapped() -> None:
    chat = tool_conversation()
    chat.messages[3].content[0].text = "sunny"
    part = gemini_generate.translate(call(chat, "gemini"), Quirks())["contents"][2]["parts"][0]
    assert part["functionResponse"]["response"] == {"result": "sunny"}


def test_parse_documented_response_with_thoughts() -> None:
    completion, response_id = gemini_generate.parse(body_bytes("gemini", "generate_response.json"), 0)
    assert response_id == "hJPbaPb4Dsa0qtsP1rmUcA"
    assert completion.content.startswith("A large language model")
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage == chat_pb2.Usage(prompt_tokens=8, completion_tokens=21 + 1047, reasoning_tokens=1047)


def test_parse_documented_function_call() -> None:
    completion, _ = gemini_generate.parse(body_bytes("gemini", "function_call_response.json"), 0)
    assert completion.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert completion.tool_calls[0].name == "find_theaters"
    assert completion.tool_calls[0].id == "call_0"
    assert json.loads(completion.tool_calls[0].arguments_json) == {"location": "Mountain View, CA", "movie": "Barbie"}
    assert completion.usage.cached_prompt_tokens == 4


def test_blocked_prompt_is_content_filtered() -> None:
    with pytest.raises(UpstreamError) as caught:
        gemini_generate.parse(body_bytes("gemini", "blocked_prompt_response.json"), 0)
    assert caught.value.reason == "CONTENT_FILTERED"


def test_safety_finish_maps_to_content_filter() -> None:
    body = {"candidates": [{"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": "SAFETY"}]}
    completion, _ = gemini_generate.parse(json.dumps(body).encode(), 8)
    assert completion.finish_reason == chat_pb2.FINISH_REASON_CONTENT_FILTER
    assert completion.usage.estimated


@pytest.mark.parametrize("piece", [1, 7, 100_000])
def test_documented_stream(piece: int) -> None:
    decoder = GeminiStreamDecoder(0)
    deltas = decode(decoder, sse_bytes("gemini", "stream.sse"), piece)
    assert "".join(d.content for d in deltas) == "The sky appears blue because of Rayleigh scattering."
    completion, response_id = decoder.result()
    assert response_id == "r1"
    assert completion.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert completion.usage == chat_pb2.Usage(prompt_tokens=6, completion_tokens=10)


def test_stream_without_finish_reason_is_dropped() -> None:
    data = sse_bytes("gemini", "stream.sse")
    cut = data[: data.rindex(b"data:")]
    with pytest.raises(UpstreamError) as caught:
        decode(GeminiStreamDecoder(0), cut, 30)
    assert caught.value.reason == "CONNECTION_DROPPED"


@pytest.mark.parametrize(
    ("field", "mutate"),
    [
        ("tools.strict", lambda c: c.tools.add(name="t", strict=True)),
        ("message.name", lambda c: setattr(c.messages[1], "name", "alice")),
        ("content.image_url", lambda c: setattr(c.messages[1].content.add().image, "url", "https://x/cat.png")),
    ],
)
def test_fields_generate_content_cannot_honour(field: str, mutate: object) -> None:
    chat = user_chat()
    mutate(chat)  # type: ignore[operator]
    with pytest.raises(UpstreamError) as caught:
        gemini_generate.translate(call(chat, "gemini"), Quirks())
    assert caught.value.metadata["field"] == field


def test_inline_image_becomes_inline_data() -> None:
    chat = user_chat()
    chat.messages[1].content.add().image.CopyFrom(chat_pb2.ImagePart(data=b"\x89PNG", media_type="image/png"))
    chat.messages[1].content.add().image.url = "data:image/jpeg;base64,/9j/"
    parts = gemini_generate.translate(call(chat, "gemini"), Quirks())["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw=="}}
    assert parts[2] == {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}}
