"""Google Gemini generateContent / streamGenerateContent dialect (v1beta REST).

Reference: https://ai.google.dev/api/generate-content. The system prompt is `systemInstruction`, turns are
`contents` with role "user"/"model" and `parts`; tool calls are `functionCall` parts and tool results are
`functionResponse` parts (matched by name, and by id where the model sent one); usage is `usageMetadata`.
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

# Google's own ErrorInfo reason for a bad key (its wire vocabulary, not one of ours).
_GOOGLE_KEY_INVALID = "API_KEY_INVALID"

FINISH_REASONS: Mapping[str, chat_pb2.FinishReason] = {
    "STOP": chat_pb2.FINISH_REASON_STOP,
    "MAX_TOKENS": chat_pb2.FINISH_REASON_LENGTH,
    "SAFETY": chat_pb2.FINISH_REASON_CONTENT_FILTER,
    "RECITATION": chat_pb2.FINISH_REASON_CONTENT_FILTER,
    "BLOCKLIST": chat_pb2.FINISH_REASON_CONTENT_FILTER,
    "PROHIBITED_CONTENT": chat_pb2.FINISH_REASON_CONTENT_FILTER,
    "SPII": chat_pb2.FINISH_REASON_CONTENT_FILTER,
    "IMAGE_SAFETY": chat_pb2.FINISH_REASON_CONTENT_FILTER,
    "LANGUAGE": chat_pb2.FINISH_REASON_STOP,
    "OTHER": chat_pb2.FINISH_REASON_STOP,
    "MALFORMED_FUNCTION_CALL": chat_pb2.FINISH_REASON_STOP,
}
# What generateContent cannot honour: no strict tool schemas, no author names, images only inline (or uploaded).
INHERENTLY_UNSUPPORTED = frozenset({"tools.strict", "message.name", "content.image_url"})
_TC = chat_pb2.ToolChoiceMode
_RF = chat_pb2.ResponseFormatType


def _parts(message: chat_pb2.Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if part.WhichOneof("part") == "image":
            image = part.image
            inline = split_data_url(image.url) if image.url else None
            if inline is not None:
                parts.append({"inlineData": {"mimeType": inline[0], "data": inline[1]}})
            else:
                data = base64.b64encode(image.data).decode()
                parts.append({"inlineData": {"mimeType": image.media_type, "data": data}})
        elif part.text:
            parts.append({"text": part.text})
    for i, call in enumerate(message.tool_calls):
        function: dict[str, Any] = {
            "name": call.name,
            "args": decode_arguments(call.arguments_json, f"tool_calls[{i}].arguments_json"),
        }
        if call.id:
            function["id"] = call.id
        parts.append({"functionCall": function})
    return parts


def _tool_result(message: chat_pb2.Message, names: Mapping[str, str]) -> dict[str, Any]:
    """functionResponse.response must be an object: a JSON object result is used as is, else wrapped."""
    text = text_of(message)
    try:
        value = decode_body(text) if text.lstrip().startswith("{") else None
    except UpstreamError:
        value = None
    response = value if isinstance(value, dict) else {"result": text}
    function: dict[str, Any] = {"name": message.name or names.get(message.tool_call_id, ""), "response": response}
    if message.tool_call_id:
        function["id"] = message.tool_call_id
    return {"functionResponse": function}


def _contents(chat: chat_pb2.ChatRequest) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names = {call.id: call.name for m in chat.messages for call in m.tool_calls}
    for message in chat.messages:
        if message.role == chat_pb2.ROLE_SYSTEM:
            system.append(text_of(message))
            continue
        if message.role == chat_pb2.ROLE_TOOL:
            role, parts = "user", [_tool_result(message, names)]
        else:
            role = "model" if message.role == chat_pb2.ROLE_ASSISTANT else "user"
            parts = _parts(message)
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _tool_config(choice: chat_pb2.ToolChoice) -> dict[str, Any] | None:
    mode = choice.mode
    if mode == _TC.TOOL_CHOICE_MODE_NONE:
        config: dict[str, Any] = {"mode": "NONE"}
    elif mode == _TC.TOOL_CHOICE_MODE_AUTO:
        config = {"mode": "AUTO"}
    elif mode == _TC.TOOL_CHOICE_MODE_REQUIRED:
        config = {"mode": "ANY"}
    elif mode == _TC.TOOL_CHOICE_MODE_NAMED:
        config = {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    else:
        return None
    return {"functionCallingConfig": config}


def _generation_config(chat: chat_pb2.ChatRequest) -> dict[str, Any]:
    sampling = chat.sampling
    config: dict[str, Any] = {}
    if sampling.HasField("temperature"):
        config["temperature"] = sampling.temperature
    if sampling.HasField("top_p"):
        config["topP"] = sampling.top_p
    if sampling.HasField("max_tokens"):
        config["maxOutputTokens"] = sampling.max_tokens
    if sampling.stop:
        config["stopSequences"] = list(sampling.stop)
    if sampling.HasField("seed"):
        config["seed"] = sampling.seed
    fmt = chat.response_format
    if fmt.type == _RF.RESPONSE_FORMAT_TYPE_JSON_OBJECT:
        config["responseMimeType"] = "application/json"
    elif fmt.type == _RF.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = decode_schema(fmt.json_schema, "chat.response_format.json_schema")
    return config


def translate(call: Call, quirks: Quirks) -> dict[str, Any]:
    chat = call.chat
    ensure_supported(
        chat,
        quirks.unsupported | INHERENTLY_UNSUPPORTED,
        provider=call.provider,
        model=call.model,
        max_temperature=quirks.max_temperature,
    )
    system, contents = _contents(chat)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if chat.tools:
        declarations = []
        for i, tool in enumerate(chat.tools):
            declaration: dict[str, Any] = {"name": tool.name, "description": tool.description}
            if tool.parameters_json_schema:
                schema = decode_schema(tool.parameters_json_schema, f"chat.tools[{i}].parameters_json_schema")
                declaration["parametersJsonSchema"] = schema
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
    tool_config = _tool_config(chat.tool_choice)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    generation = _generation_config(chat)
    if generation:
        body["generationConfig"] = generation
    return body


def wire_request(call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
    action = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return WireRequest(path=f"/v1beta/models/{call.model}:{action}", body=translate(call, quirks), headers={})


def parse_usage(raw: Any) -> chat_pb2.Usage | None:
    """candidatesTokenCount excludes thoughts; the neutral completion_tokens includes reasoning."""
    if not isinstance(raw, dict) or "promptTokenCount" not in raw:
        return None
    thoughts = int(raw.get("thoughtsTokenCount") or 0)
    return chat_pb2.Usage(
        prompt_tokens=int(raw.get("promptTokenCount") or 0),
        completion_tokens=int(raw.get("candidatesTokenCount") or 0) + thoughts,
        cached_prompt_tokens=int(raw.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def candidate_parts(
    data: dict[str, Any], completion: chat_pb2.ChatCompletion, call_base: int
) -> tuple[str, list[chat_pb2.ToolCall]]:
    """Visible text and function calls of the first candidate; sets finish_reason when present.

    A prompt blocked before any candidate is a CONTENT_FILTERED error. Calls without an id get "call_<n>".
    """
    candidates = data.get("candidates") or []
    if not candidates:
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        if blocked:
            raise UpstreamError(
                f"prompt blocked: {blocked}", reason=Reason.CONTENT_FILTERED, metadata={"block": blocked}
            )
        return "", []
    candidate = candidates[0]
    texts: list[str] = []
    calls: list[chat_pb2.ToolCall] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if "functionCall" in part:
            function = part["functionCall"]
            call_id = function.get("id") or f"call_{call_base + len(calls)}"
            arguments = ENCODER.encode(function.get("args") or {}).decode()
            calls.append(chat_pb2.ToolCall(id=call_id, name=function.get("name") or "", arguments_json=arguments))
        elif "text" in part and not part.get("thought"):
            texts.append(part["text"])
    reason = candidate.get("finishReason")
    if reason:
        completion.finish_reason = FINISH_REASONS.get(reason, chat_pb2.FINISH_REASON_UNSPECIFIED)
    return "".join(texts), calls


def parse(body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
    data = decode_body(body)
    if not isinstance(data, dict):
        raise UpstreamError("provider response is not a JSON object", reason=Reason.BAD_RESPONSE)
    if "error" in data:
        raise error_from_body(0, {}, data)
    completion = chat_pb2.ChatCompletion()
    text, calls = candidate_parts(data, completion, 0)
    completion.content = text
    completion.tool_calls.extend(calls)
    if calls and completion.finish_reason == chat_pb2.FINISH_REASON_STOP:
        completion.finish_reason = chat_pb2.FINISH_REASON_TOOL_CALLS
    out_chars = len(text) + sum(len(c.arguments_json) for c in calls)
    finalize_usage(completion, parse_usage(data.get("usageMetadata")), prompt_chars, out_chars)
    return completion, str(data.get("responseId") or "")


def error_from_body(status: int, headers: Mapping[str, str], data: Any) -> UpstreamError:
    """{"error": {"code": 429, "message": ..., "status": "RESOURCE_EXHAUSTED", "details": [RetryInfo, ErrorInfo]}}"""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        error = data[0].get("error")  # some proxies wrap the error in a one-element array
    if not isinstance(error, dict):
        return classify(status, headers, message="", code="")
    code = str(error.get("status") or "")
    delay: str | None = None
    for detail in error.get("details") or ():
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.RetryInfo"):
            delay = str(detail.get("retryDelay") or "") or None
        elif kind.endswith("google.rpc.ErrorInfo") and detail.get("reason") == _GOOGLE_KEY_INVALID:
            code = "api_key_invalid"
    return classify(
        status or int(error.get("code") or 0),
        headers,
        message=str(error.get("message") or ""),
        code=code,
        body_delay=delay,
    )


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    try:
        data = decode_body(body)
    except UpstreamError:
        data = {"error": {"message": body[:300].decode("utf-8", errors="replace")}}
    return error_from_body(status, headers, data)
