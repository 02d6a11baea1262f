"""OpenAI Responses <-> Bourse's provider-neutral ChatRequest / RouteResponse.

The same ChatRequest the chat completions endpoint builds, so any provider can answer a Responses client.
Nothing is stored (`store: false` semantics whatever the request says): `previous_response_id`, `conversation`
and `background` need stored state and are refused with a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

import msgspec
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.chat_translation import (
    add_tool,
    image_from_url,
    invalid_field,
    model_name,
    route_summary,
    set_json_schema,
    set_sampling,
)
from services.gateway.core.openai_types import JsonObjectFormat
from services.gateway.core.responses_types import (
    INPUT_ITEM_TYPES,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputImage,
    InputItem,
    InputText,
    JsonSchemaTextFormat,
    MessageItem,
    NamedFunctionChoice,
    OutputText,
    ResponsesRequest,
)
from services.gateway.core.stream_blocks import Block, blocks_of
from shared.errors import FieldViolation, InvalidRequest
from shared.openai_wire import ROLE_FROM_WIRE, TOOL_CHOICE_FROM_WIRE

# Answers that stopped early are "incomplete", with the reason.
_INCOMPLETE = {
    chat_pb2.FINISH_REASON_LENGTH: "max_output_tokens",
    chat_pb2.FINISH_REASON_CONTENT_FILTER: "content_filter",
}
_STATEFUL = ("previous_response_id", "conversation", "background")
STATELESS = "this gateway stores no responses (store: false semantics); send the whole input"


def input_items(raw: list[dict[str, Any]]) -> list[InputItem]:
    """Decode `input` items; a message may leave out `type`, any other item type is a 400 naming it."""
    items: list[InputItem] = []
    for i, item in enumerate(raw):
        kind = item.get("type", "message" if "role" in item else None)
        if kind not in INPUT_ITEM_TYPES:
            known = ", ".join(sorted(INPUT_ITEM_TYPES))
            raise invalid_field(f"input[{i}].type", f"unsupported input item type {kind!r}; one of {known}")
        try:
            items.append(msgspec.convert({**item, "type": kind}, InputItem))
        except msgspec.ValidationError as error:
            text = str(error)
            path = text.rsplit("at `$", 1)[1].rstrip("`") if "at `$" in text else ""
            field = f"input[{i}]{path}"
            raise InvalidRequest(f"{field}: {text}", violations=[FieldViolation(field, text)]) from None
    return items


def _parts(out: chat_pb2.Message, parts: list[Any], field: str) -> None:
    for j, part in enumerate(parts):
        if isinstance(part, InputText | OutputText):
            out.content.add(text=part.text)
        elif isinstance(part, InputImage):
            if not part.image_url:
                raise invalid_field(f"{field}[{j}].image_url", "required (file ids are not supported)")
            out.content.add(image=image_from_url(part.image_url, f"{field}[{j}].image_url"))
        else:
            out.content.add(text=part.refusal)


def _message(item: InputItem, index: int, chat: chat_pb2.ChatRequest) -> None:
    field = f"input[{index}]"
    if isinstance(item, MessageItem):
        out = chat.messages.add(role=ROLE_FROM_WIRE[item.role])
        if isinstance(item.content, str):
            out.content.add(text=item.content)
        else:
            _parts(out, item.content, f"{field}.content")
    elif isinstance(item, FunctionCallItem):
        # Consecutive calls are one assistant turn, as providers expect parallel calls to arrive.
        last = chat.messages[-1] if chat.messages else None
        if last is None or last.role != chat_pb2.ROLE_ASSISTANT or last.content:
            last = chat.messages.add(role=chat_pb2.ROLE_ASSISTANT)
        last.tool_calls.add(id=item.call_id, name=item.name, arguments_json=item.arguments)
    else:
        _tool_output(item, field, chat)


def _tool_output(item: FunctionCallOutputItem, field: str, chat: chat_pb2.ChatRequest) -> None:
    if not item.call_id:
        raise invalid_field(f"{field}.call_id", "must not be empty")
    out = chat.messages.add(role=chat_pb2.ROLE_TOOL, tool_call_id=item.call_id)
    if isinstance(item.output, str):
        out.content.add(text=item.output)
    else:
        _parts(out, item.output, f"{field}.output")


def to_chat_request(request: ResponsesRequest, history: chat_pb2.ChatRequest | None = None) -> chat_pb2.ChatRequest:
    """The ChatRequest for a Responses body; InvalidRequest names the first field Bourse cannot honour.

    `history` is the stored conversation of `previous_response_id` (its messages come after this request's
    instructions: as at OpenAI, earlier instructions are not carried over); without it that field is a 400.
    """
    for name in _STATEFUL:
        if getattr(request, name) and not (name == "previous_response_id" and history is not None):
            raise invalid_field(name, STATELESS)
    chat = chat_pb2.ChatRequest()
    if request.instructions:
        chat.messages.add(role=chat_pb2.ROLE_SYSTEM).content.add(text=request.instructions)
    if history is not None:
        chat.messages.extend(history.messages)
    before = len(chat.messages)
    if isinstance(request.input, str):
        chat.messages.add(role=chat_pb2.ROLE_USER).content.add(text=request.input)
    else:
        for i, item in enumerate(input_items(request.input)):
            _message(item, i, chat)
    if not any(m.role != chat_pb2.ROLE_SYSTEM for m in chat.messages[before:]):
        raise invalid_field("input", "must hold at least one message")
    _tools_and_format(request, chat)
    set_sampling(
        chat.sampling, request.temperature, request.top_p, request.max_output_tokens, stops=[], stop_field="stop"
    )
    return chat


def _tools_and_format(request: ResponsesRequest, chat: chat_pb2.ChatRequest) -> None:
    for i, tool in enumerate(request.tools or ()):
        add_tool(chat, tool.name, tool.description, tool.parameters, strict=tool.strict, name_field=f"tools[{i}].name")
    choice = request.tool_choice
    if isinstance(choice, NamedFunctionChoice):
        chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_NAMED
        chat.tool_choice.name = choice.name
    elif choice is not None:
        chat.tool_choice.mode = TOOL_CHOICE_FROM_WIRE[choice]
    fmt = request.text.format if request.text is not None else None
    if isinstance(fmt, JsonObjectFormat):
        chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
    elif isinstance(fmt, JsonSchemaTextFormat):
        set_json_schema(chat.response_format, fmt.name, fmt.schema, strict=fmt.strict)


def response_id(request_id: str) -> str:
    return f"resp_{request_id}"


def item_id(block: Block, request_id: str, index: int) -> str:
    return f"{'msg' if block.kind == 'text' else 'fc'}_{request_id}_{index}"


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def output_item(block: Block, request_id: str, index: int, status: str = "completed") -> dict[str, Any]:
    """An output item: a message with one output_text part, or a function_call."""
    if block.kind == "text":
        content = [text_part(block.text)] if status == "completed" else []
        return {
            "id": item_id(block, request_id, index),
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": content,
        }
    return {
        "id": item_id(block, request_id, index),
        "type": "function_call",
        "call_id": block.call_id,
        "name": block.name,
        "arguments": block.text if status == "completed" else "",
        "status": status,
    }


def usage(completion: chat_pb2.ChatCompletion) -> dict[str, Any]:
    u = completion.usage
    return {
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_prompt_tokens},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    }


def conversation(
    chat: chat_pb2.ChatRequest, instructions: bool, answer: chat_pb2.ChatCompletion
) -> chat_pb2.ChatRequest:
    """What `previous_response_id` continues: the messages without this request's instructions, then the answer."""
    stored = chat_pb2.ChatRequest(messages=chat.messages[1:] if instructions else chat.messages)
    reply = stored.messages.add(role=chat_pb2.ROLE_ASSISTANT)
    if answer.content:
        reply.content.add(text=answer.content)
    reply.tool_calls.extend(answer.tool_calls)
    return stored


def envelope(
    request: ResponsesRequest, request_id: str, created_at: int, model: str, *, stored: bool = False
) -> dict[str, Any]:
    """The response object before it has output: what the request asked for, echoed as OpenAI does."""
    text = msgspec.to_builtins(request.text) if request.text is not None else {"format": {"type": "text"}}
    return {
        "id": response_id(request_id),
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "model": model,
        "output": [],
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "previous_response_id": request.previous_response_id,
        "store": stored,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "text": text,
        "tool_choice": msgspec.to_builtins(request.tool_choice) if request.tool_choice is not None else "auto",
        "tools": msgspec.to_builtins(request.tools or []),
        "truncation": "disabled",
        "usage": None,
        "user": request.user,
        "metadata": request.metadata or {},
    }


def complete(
    response: dict[str, Any], summary: router_pb2.RouteResponse, blocks: list[Block], request_id: str
) -> dict[str, Any]:
    """Fill a response envelope with the answer: output items, status, usage, the answering model."""
    completion = summary.completion
    incomplete = _INCOMPLETE.get(completion.finish_reason)
    response.update(
        status="incomplete" if incomplete else "completed",
        incomplete_details={"reason": incomplete} if incomplete else None,
        model=model_name(summary.provider, summary.model),
        output=[output_item(block, request_id, i) for i, block in enumerate(blocks)],
        usage=usage(completion),
        bourse=route_summary(summary),
    )
    return response


def to_response(
    request: ResponsesRequest, summary: router_pb2.RouteResponse, created_at: int, *, stored: bool = False
) -> dict[str, Any]:
    """The Responses `response` object for a RouteResponse."""
    response = envelope(request, summary.request_id, created_at, request.model, stored=stored)
    return complete(response, summary, blocks_of(summary.completion), summary.request_id)
