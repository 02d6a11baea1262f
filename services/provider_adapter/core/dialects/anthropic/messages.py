"""Anthropic Messages dialect (POST {base}/v1/messages).

Reference: https://docs.anthropic.com/en/api/messages. Differences from the neutral request: the system prompt
is a top-level field, content is a list of blocks, tool calls are `tool_use` blocks and tool results are
`tool_result` blocks inside a user turn, max_tokens is mandatory, and there is no JSON mode or seed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.features import ensure_supported
from services.provider_adapter.core.provider import Call, WireRequest
from services.provider_adapter.core.quirks import Quirks
from services.provider_adapter.core.upstream_errors import classify
from services.provider_adapter.core.usage import finalize_usage
from services.provider_adapter.core.wire_json import (
    ENCODER,
    decode_arguments,
    decode_body,
    decode_schema,
    split_data_url,
    text_of,
)
from shared.errors import Reason, UpstreamError

# What the Messages API cannot honour at all, whatever the registry says.
INHERENTLY_UNSUPPORTED = frozenset(
    {"response_format.json_object", "response_format.json_schema", "sampling.seed", "tools.strict", "message.name"}
)
STOP_REASONS: Mapping[str, chat_pb2.FinishReason] = {
    "end_turn": chat_pb2.FINISH_REASON_STOP,
    "stop_sequence": chat_pb2.FINISH_REASON_STOP,
    "pause_turn": chat_pb2.FINISH_REASON_STOP,
    "max_tokens": chat_pb2.FINISH_REASON_LENGTH,
    "model_context_window_exceeded": chat_pb2.FINISH_REASON_LENGTH,
    "tool_use": chat_pb2.FINISH_REASON_TOOL_CALLS,
    "refusal": chat_pb2.FINISH_REASON_CONTENT_FILTER,
}
_TC = chat_pb2.ToolChoiceMode


def _image_block(image: chat_pb2.ImagePart) -> dict[str, Any]:
    if image.url:
        inline = split_data_url(image.url)
        if inline is None:
            return {"type": "image", "source": {"type": "url", "url": image.url}}
        media_type, data = inline
    else:
        media_type, data = image.media_type, base64.b64encode(image.data).decode()
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _blocks(message: chat_pb2.Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if part.WhichOneof("part") == "image":
            blocks.append(_image_block(part.image))
        elif part.text:
            blocks.append({"type": "text", "text": part.text})
    for i, call in enumerate(message.tool_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": decode_arguments(call.arguments_json, f"tool_calls[{i}].arguments_json"),
            }
        )
    return blocks


def _messages(chat: chat_pb2.ChatRequest) -> tuple[str, list[dict[str, Any]]]:
    """(system prompt, turns). Tool results join the following user turn; consecutive same-role turns merge."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in chat.messages:
        if message.role == chat_pb2.ROLE_SYSTEM:
            system.append(text_of(message))
            continue
        if message.role == chat_pb2.ROLE_TOOL:
            role = "user"
            blocks: list[dict[str, Any]] = [
                {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": text_of(message)}
            ]
        else:
            role = "assistant" if message.role == chat_pb2.ROLE_ASSISTANT else "user"
            blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(system), turns


def _tool_choice(choice: chat_pb2.ToolChoice) -> dict[str, Any] | None:
    mode = choice.mode
    if mode == _TC.TOOL_CHOICE_MODE_NONE:
        return {"type": "none"}
    if mode == _TC.TOOL_CHOICE_MODE_AUTO:
        return {"type": "auto"}
    if mode == _TC.TOOL_CHOICE_MODE_REQUIRED:
        return {"type": "any"}
    if mode == _TC.TOOL_CHOICE_MODE_NAMED:
        return {"type": "tool", "name": choice.name}
    return None


def translate(call: Call, quirks: Quirks, *, stream: bool) -> dict[str, Any]:
    chat = call.chat
    ensure_supported(
        chat,
        quirks.unsupported | INHERENTLY_UNSUPPORTED,
        provider=call.provider,
        model=call.model,
        max_temperature=quirks.max_temperature,
    )
    system, turns = _messages(chat)
    sampling = chat.sampling
    body: dict[str, Any] = {
        "model": call.model,
        "max_tokens": sampling.max_tokens if sampling.HasField("max_tokens") else quirks.default_max_tokens,
        "messages": turns,
    }
    if system:
        body["system"] = system
    if chat.tools:
        body["tools"] = [
            {
                "name": tool.name,
                "description": tool.description,
                "input_schema": decode_schema(tool.parameters_json_schema, f"chat.tools[{i}].parameters_json_schema"),
            }
            for i, tool in enumerate(chat.tools)
        ]
    choice = _tool_choice(chat.tool_choice)
    if choice is not None:
        body["tool_choice"] = choice
    if sampling.HasField("temperature"):
        body["temperature"] = sampling.temperature
    if sampling.HasField("top_p"):
        body["top_p"] = sampling.top_p
    if sampling.stop:
        body["stop_sequences"] = list(sampling.stop)
    if stream:
        body["stream"] = True
    return body


def wire_request(call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
    return WireRequest(
        path="/v1/messages",
        body=translate(call, quirks, stream=stream),
        headers={"anthropic-version": quirks.api_version},
    )


def parse_usage(raw: Any) -> chat_pb2.Usage | None:
    """input_tokens excludes cache reads and writes; the neutral prompt_tokens includes them."""
    if not isinstance(raw, dict) or "input_tokens" not in raw:
        return None
    cache_read = int(raw.get("cache_read_input_tokens") or 0)
    cache_write = int(raw.get("cache_creation_input_tokens") or 0)
    # The split by cache lifetime: 1-hour writes cost more than 5-minute ones.
    split = raw.get("cache_creation")
    lifetimes: dict[str, Any] = split if isinstance(split, dict) else {}
    return chat_pb2.Usage(
        prompt_tokens=int(raw.get("input_tokens") or 0) + cache_read + cache_write,
        completion_tokens=int(raw.get("output_tokens") or 0),
        cached_prompt_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_long_tokens=min(int(lifetimes.get("ephemeral_1h_input_tokens") or 0), cache_write),
    )


def parse(body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
    data = decode_body(body)
    if not isinstance(data, dict):
        raise UpstreamError("provider response is not a JSON object", reason=Reason.BAD_RESPONSE)
    if data.get("type") == "error":
        raise error_from_body(0, {}, data)
    if not isinstance(data.get("content"), list):
        raise UpstreamError("Anthropic response has no content list", reason=Reason.BAD_RESPONSE)
    completion = chat_pb2.ChatCompletion(
        finish_reason=STOP_REASONS.get(data.get("stop_reason") or "", chat_pb2.FINISH_REASON_UNSPECIFIED)
    )
    texts: list[str] = []
    for block in data["content"]:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            completion.tool_calls.add(
                id=block.get("id") or "",
                name=block.get("name") or "",
                arguments_json=ENCODER.encode(block.get("input") or {}).decode(),
            )
    completion.content = "".join(texts)
    out_chars = len(completion.content) + sum(len(c.arguments_json) for c in completion.tool_calls)
    finalize_usage(completion, parse_usage(data.get("usage")), prompt_chars, out_chars)
    return completion, str(data.get("id") or "")


def error_from_body(status: int, headers: Mapping[str, str], data: Any) -> UpstreamError:
    """{"type": "error", "error": {"type": "rate_limit_error", "message": ...}, "request_id": ...}"""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return classify(status, headers, message="", code="")
    return classify(status, headers, message=str(error.get("message") or ""), code=str(error.get("type") or ""))


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    try:
        data = decode_body(body)
    except UpstreamError:
        data = {"error": {"message": body[:300].decode("utf-8", errors="replace")}}
    return error_from_body(status, headers, data)
