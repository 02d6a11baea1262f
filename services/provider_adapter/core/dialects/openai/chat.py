"""OpenAI Chat Completions dialect (POST {base}/chat/completions), shared by the OpenAI-compatible family.

Reference: https://platform.openai.com/docs/api-reference/chat. Provider differences (Mistral's random_seed,
max_completion_tokens, unsupported fields) come from the registry's quirks, not from branches here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.features import ensure_supported
from services.provider_adapter.core.provider import Call, WireRequest
from services.provider_adapter.core.quirks import Quirks
from services.provider_adapter.core.upstream_errors import classify
from services.provider_adapter.core.usage import finalize_usage
from services.provider_adapter.core.wire_json import decode_body, decode_schema, image_data_url, text_of
from shared.errors import Reason, UpstreamError
from shared.openai_wire import FINISH_FROM_WIRE, ROLE_TO_WIRE, usage_from_wire

_ROLES = ROLE_TO_WIRE
FINISH_REASONS = FINISH_FROM_WIRE
_TC = chat_pb2.ToolChoiceMode
_RF = chat_pb2.ResponseFormatType


def _content(message: chat_pb2.Message) -> str | list[dict[str, Any]] | None:
    parts = message.content
    if not parts:
        return None
    if all(part.WhichOneof("part") == "text" for part in parts):
        return text_of(message)
    out: list[dict[str, Any]] = []
    for part in parts:
        if part.WhichOneof("part") == "text":
            out.append({"type": "text", "text": part.text})
        else:
            out.append({"type": "image_url", "image_url": {"url": image_data_url(part.image)}})
    return out


def _message(message: chat_pb2.Message) -> dict[str, Any]:
    role = _ROLES[message.role]
    out: dict[str, Any] = {"role": role, "content": _content(message)}
    if message.role == chat_pb2.ROLE_TOOL:
        out["tool_call_id"] = message.tool_call_id
        if out["content"] is None:
            out["content"] = ""
    elif message.name:
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json or "{}"}}
            for c in message.tool_calls
        ]
    elif out["content"] is None:
        out["content"] = ""
    return out


def translate(call: Call, quirks: Quirks, *, stream: bool) -> dict[str, Any]:
    """The Chat Completions request body for a neutral call."""
    chat = call.chat
    ensure_supported(
        chat, quirks.unsupported, provider=call.provider, model=call.model, max_temperature=quirks.max_temperature
    )
    body: dict[str, Any] = {"model": call.model, "messages": [_message(m) for m in chat.messages]}
    if chat.tools:
        body["tools"] = [_tool(i, tool) for i, tool in enumerate(chat.tools)]
    choice = _tool_choice(chat.tool_choice, quirks)
    if choice is not None:
        body["tool_choice"] = choice
    fmt = _response_format(chat.response_format)
    if fmt is not None:
        body["response_format"] = fmt
    _sampling(body, chat.sampling, quirks)
    if stream:
        body["stream"] = True
        if quirks.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def _tool(index: int, tool: chat_pb2.ToolDefinition) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": tool.name,
        "parameters": decode_schema(tool.parameters_json_schema, f"chat.tools[{index}].parameters_json_schema"),
    }
    if tool.description:
        function["description"] = tool.description
    if tool.strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def _tool_choice(choice: chat_pb2.ToolChoice, quirks: Quirks) -> str | dict[str, Any] | None:
    mode = choice.mode
    if mode == _TC.TOOL_CHOICE_MODE_NONE:
        return "none"
    if mode == _TC.TOOL_CHOICE_MODE_AUTO:
        return "auto"
    if mode == _TC.TOOL_CHOICE_MODE_REQUIRED:
        return quirks.tool_choice_required
    if mode == _TC.TOOL_CHOICE_MODE_NAMED:
        return {"type": "function", "function": {"name": choice.name}}
    return None


def _response_format(fmt: chat_pb2.ResponseFormat) -> dict[str, Any] | None:
    if fmt.type == _RF.RESPONSE_FORMAT_TYPE_JSON_OBJECT:
        return {"type": "json_object"}
    if fmt.type == _RF.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        schema: dict[str, Any] = {
            "name": fmt.schema_name or "response",
            "schema": decode_schema(fmt.json_schema, "chat.response_format.json_schema"),
        }
        if fmt.strict:
            schema["strict"] = True
        return {"type": "json_schema", "json_schema": schema}
    return None


def _sampling(body: dict[str, Any], sampling: chat_pb2.SamplingParams, quirks: Quirks) -> None:
    if sampling.HasField("temperature"):
        body["temperature"] = sampling.temperature
    if sampling.HasField("top_p"):
        body["top_p"] = sampling.top_p
    if sampling.HasField("max_tokens"):
        body[quirks.max_tokens_field] = sampling.max_tokens
    if sampling.stop:
        body["stop"] = list(sampling.stop)
    if sampling.HasField("seed"):
        body[quirks.seed_field] = sampling.seed


def parse_usage(raw: Any) -> chat_pb2.Usage | None:
    """OpenAI usage (shared.openai_wire): cached and reasoning tokens, DeepSeek's cache-hit form too."""
    return usage_from_wire(raw)


def parse(body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
    """A non-streamed Chat Completions response -> completion, response id."""
    data = decode_body(body)
    if not isinstance(data, dict):
        raise UpstreamError("provider response is not a JSON object", reason=Reason.BAD_RESPONSE)
    if "error" in data and "choices" not in data:
        raise error_from_body(0, {}, data)
    choices = data.get("choices")
    if not choices:
        raise UpstreamError("provider response has no choices", reason=Reason.BAD_RESPONSE)
    choice = choices[0]
    message = choice.get("message") or {}
    completion = chat_pb2.ChatCompletion(
        content=message.get("content") or "",
        finish_reason=FINISH_REASONS.get(choice.get("finish_reason") or "", chat_pb2.FINISH_REASON_UNSPECIFIED),
    )
    for raw_call in message.get("tool_calls") or ():
        function = raw_call.get("function") or {}
        completion.tool_calls.add(
            id=raw_call.get("id") or "", name=function.get("name") or "", arguments_json=function.get("arguments") or ""
        )
    out_chars = len(completion.content) + sum(len(c.arguments_json) for c in completion.tool_calls)
    finalize_usage(completion, parse_usage(data.get("usage")), prompt_chars, out_chars)
    return completion, str(data.get("id") or "")


def error_from_body(status: int, headers: Mapping[str, str], data: Any) -> UpstreamError:
    """{"error": {"message", "type", "param", "code"}}; some compatible servers send a bare string or detail."""
    message, code = "", ""
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("detail") or "")
            code = str(error.get("code") or error.get("type") or "")
            if status == 0 and isinstance(error.get("code"), int):
                status = error["code"]  # OpenRouter sends HTTP-style codes inside 200 bodies and stream events
        elif isinstance(error, str):
            message = error
        if not message and isinstance(data.get("message"), str):
            message = data["message"]
    return classify(status, headers, message=message, code=code)


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    try:
        data = decode_body(body)
    except UpstreamError:
        data = {"error": {"message": body[:300].decode("utf-8", errors="replace")}}
    return error_from_body(status, headers, data)


def wire_request(call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
    return WireRequest(path="/chat/completions", body=translate(call, quirks, stream=stream), headers={})
