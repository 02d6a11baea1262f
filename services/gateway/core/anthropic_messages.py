"""Anthropic Messages <-> Bourse's provider-neutral ChatRequest / RouteResponse, and Anthropic's error shape.

The same ChatRequest the chat completions endpoint builds, so any provider can answer an Anthropic client.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.anthropic_types import (
    ContentBlock,
    ImageBlock,
    MessageParam,
    MessagesRequest,
    TextBlock,
    ToolChoiceAny,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolResultBlock,
    ToolUseBlock,
    UrlSource,
)
from services.gateway.core.chat_translation import (
    add_tool,
    image_from_url,
    invalid_field,
    model_name,
    route_summary,
    set_json_schema,
    set_sampling,
)
from services.gateway.core.stream_blocks import Block, blocks_of
from shared.errors import BourseError

STOP_REASONS = {
    chat_pb2.FINISH_REASON_UNSPECIFIED: "end_turn",
    chat_pb2.FINISH_REASON_STOP: "end_turn",
    chat_pb2.FINISH_REASON_LENGTH: "max_tokens",
    chat_pb2.FINISH_REASON_TOOL_CALLS: "tool_use",
    chat_pb2.FINISH_REASON_CONTENT_FILTER: "refusal",
}
# Anthropic's error types by HTTP status (its SDK picks the exception class by status).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    499: "invalid_request_error",
    503: "overloaded_error",
    504: "timeout_error",
}
_json = msgspec.json.Encoder()
_decode_json = msgspec.json.decode


def error_body(error: BourseError, status: int) -> dict[str, Any]:
    """Anthropic's `{"type": "error", "error": {"type", "message"}}`, plus Bourse's stable reason as `code`."""
    return {
        "type": "error",
        "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": error.message, "code": error.reason.lower()},
    }


def _image(block: ImageBlock, field: str) -> chat_pb2.ImagePart:
    source = block.source
    if isinstance(source, UrlSource):
        return image_from_url(source.url, f"{field}.url")
    try:
        data = base64.b64decode(source.data, validate=True)
    except binascii.Error:
        raise invalid_field(f"{field}.data", "invalid base64") from None
    if not data:
        raise invalid_field(f"{field}.data", "must not be empty")
    return chat_pb2.ImagePart(data=data, media_type=source.media_type)


def _parts(out: chat_pb2.Message, blocks: list[TextBlock | ImageBlock], field: str) -> None:
    for j, block in enumerate(blocks):
        if isinstance(block, TextBlock):
            out.content.add(text=block.text)
        else:
            out.content.add(image=_image(block, f"{field}[{j}].source"))


def _tool_result(block: ToolResultBlock, field: str) -> chat_pb2.Message:
    out = chat_pb2.Message(role=chat_pb2.ROLE_TOOL, tool_call_id=block.tool_use_id)
    if not block.tool_use_id:
        raise invalid_field(f"{field}.tool_use_id", "must not be empty")
    if isinstance(block.content, str):
        out.content.add(text=block.content)
    elif block.content:
        _parts(out, block.content, f"{field}.content")
    if block.is_error:
        # The neutral ChatRequest has no error flag on tool results: say it in the text, as providers read it.
        out.content.insert(0, chat_pb2.ContentPart(text="[tool error] "))
    return out


def _messages(message: MessageParam, index: int) -> list[chat_pb2.Message]:
    """One Anthropic message as neutral messages: each tool_result is its own tool message, before the rest."""
    field = f"messages[{index}].content"
    role = chat_pb2.ROLE_USER if message.role == "user" else chat_pb2.ROLE_ASSISTANT
    out = chat_pb2.Message(role=role)
    if isinstance(message.content, str):
        out.content.add(text=message.content)
        return [out]
    results: list[chat_pb2.Message] = []
    for j, block in enumerate(message.content):
        _block(block, out, results, message.role, f"{field}[{j}]")
    if not message.content:
        raise invalid_field(field, "must not be empty")
    return [*results, out] if out.content or out.tool_calls else results


def _block(block: ContentBlock, out: chat_pb2.Message, results: list[chat_pb2.Message], role: str, field: str) -> None:
    if isinstance(block, TextBlock):
        out.content.add(text=block.text)
    elif isinstance(block, ImageBlock):
        out.content.add(image=_image(block, f"{field}.source"))
    elif isinstance(block, ToolUseBlock):
        if role != "assistant":
            raise invalid_field(f"{field}.type", "tool_use blocks belong to assistant messages")
        out.tool_calls.add(id=block.id, name=block.name, arguments_json=_json.encode(block.input).decode())
    else:
        if role != "user":
            raise invalid_field(f"{field}.type", "tool_result blocks belong to user messages")
        results.append(_tool_result(block, field))


def to_chat_request(request: MessagesRequest) -> chat_pb2.ChatRequest:
    """The ChatRequest for an Anthropic body; InvalidRequest names the first field Bourse cannot honour."""
    if not request.messages:
        raise invalid_field("messages", "at least one message is required")
    chat = chat_pb2.ChatRequest()
    if request.system:
        system = chat.messages.add(role=chat_pb2.ROLE_SYSTEM)
        if isinstance(request.system, str):
            system.content.add(text=request.system)
        else:
            _parts(system, list(request.system), "system")
    for i, message in enumerate(request.messages):
        chat.messages.extend(_messages(message, i))
    for i, tool in enumerate(request.tools or ()):
        add_tool(chat, tool.name, tool.description, tool.input_schema, strict=None, name_field=f"tools[{i}].name")
    choice = request.tool_choice
    if isinstance(choice, ToolChoiceTool):
        chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_NAMED
        chat.tool_choice.name = choice.name
    elif isinstance(choice, ToolChoiceAny):
        chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_REQUIRED
    elif isinstance(choice, ToolChoiceNone):
        chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_NONE
    elif choice is not None:
        chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_AUTO
    if request.output_config is not None and request.output_config.format is not None:
        set_json_schema(chat.response_format, "output", request.output_config.format.schema, strict=True)
    stops = request.stop_sequences or []
    set_sampling(
        chat.sampling, request.temperature, request.top_p, request.max_tokens, stops=stops, stop_field="stop_sequences"
    )
    return chat


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's JSON arguments as Anthropic's `input` object; arguments that are not an object are kept whole."""
    try:
        value = _decode_json(arguments) if arguments else {}
    except msgspec.DecodeError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": value}


def content_block(block: Block) -> dict[str, Any]:
    if block.kind == "text":
        return {"type": "text", "text": block.text}
    return {"type": "tool_use", "id": block.call_id, "name": block.name, "input": tool_input(block.text)}


def usage(completion: chat_pb2.ChatCompletion) -> dict[str, Any]:
    """Anthropic counts cache reads apart from `input_tokens`."""
    u = completion.usage
    return {
        "input_tokens": max(0, u.prompt_tokens - u.cached_prompt_tokens),
        "output_tokens": u.completion_tokens,
        "cache_read_input_tokens": u.cached_prompt_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
    }


def message_id(request_id: str) -> str:
    return f"msg_{request_id}"


def to_message(response: router_pb2.RouteResponse) -> dict[str, Any]:
    """The Anthropic `message` object for a RouteResponse."""
    completion = response.completion
    return {
        "id": message_id(response.request_id),
        "type": "message",
        "role": "assistant",
        "model": model_name(response.provider, response.model),
        "content": [content_block(block) for block in blocks_of(completion)],
        "stop_reason": STOP_REASONS.get(completion.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": usage(completion),
        "bourse": route_summary(response),
    }
