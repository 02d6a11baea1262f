"""OpenAI chat completions <-> Bourse's provider-neutral ChatRequest / RouteResponse.

Plain functions over msgspec Structs and generated message types; no transport here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.openai_types import (
    ChatCompletionRequest,
    ChatMessage,
    ImagePart,
    JsonObjectFormat,
    JsonSchemaFormat,
    NamedToolChoice,
    TextPart,
)
from shared.errors import FieldViolation, InvalidRequest
from shared.openai_wire import FINISH_TO_WIRE, ROLE_FROM_WIRE, TOOL_CHOICE_FROM_WIRE, usage_to_wire

FINISH_REASONS = FINISH_TO_WIRE
SERVED_FROM = {
    routing_pb2.SERVED_FROM_UNSPECIFIED: "none",
    routing_pb2.SERVED_FROM_LOCAL: "local",
    routing_pb2.SERVED_FROM_CACHE: "cache",
    routing_pb2.SERVED_FROM_REMOTE: "remote",
}
MAX_STOP_SEQUENCES = 4
MAX_CHOICES = 16  # n > 1 is n routed requests (see core/choices.py): a bound on what one request can fan out to
_json = msgspec.json.Encoder()


def invalid_field(field: str, description: str) -> InvalidRequest:
    """A 400 naming the first field Bourse cannot honour."""
    return InvalidRequest(f"{field}: {description}", violations=[FieldViolation(field, description)])


_bad = invalid_field


def _image(part: ImagePart, field: str) -> chat_pb2.ImagePart:
    return image_from_url(part.image_url.url, field)


def image_from_url(url: str, field: str) -> chat_pb2.ImagePart:
    """An image given as an `https:` URL or a base64 `data:` URL."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if ";base64" not in header or not payload:
            raise _bad(field, "data URLs must be base64 encoded (data:<type>;base64,<data>)")
        try:
            data = base64.b64decode(payload, validate=True)
        except binascii.Error:
            raise _bad(field, "invalid base64 in data URL") from None
        return chat_pb2.ImagePart(data=data, media_type=header[5:].split(";", 1)[0])
    return chat_pb2.ImagePart(url=url)


def _message(message: ChatMessage, index: int) -> chat_pb2.Message:
    out = chat_pb2.Message(role=ROLE_FROM_WIRE[message.role], name=message.name or "")
    content = message.content
    if isinstance(content, str):
        out.content.add(text=content)
    elif content is not None:
        for j, part in enumerate(content):
            if isinstance(part, TextPart):
                out.content.add(text=part.text)
            else:
                out.content.add(image=_image(part, f"messages[{index}].content[{j}].image_url.url"))
    if message.tool_calls:
        if message.role != "assistant":
            raise _bad(f"messages[{index}].tool_calls", "only assistant messages carry tool_calls")
        for call in message.tool_calls:
            out.tool_calls.add(id=call.id, name=call.function.name, arguments_json=call.function.arguments)
    if message.role == "tool":
        if not message.tool_call_id:
            raise _bad(f"messages[{index}].tool_call_id", "required for tool messages")
        out.tool_call_id = message.tool_call_id
    elif content is None and not message.tool_calls:
        raise _bad(f"messages[{index}].content", "required unless the assistant message has tool_calls")
    return out


def to_chat_request(request: ChatCompletionRequest) -> chat_pb2.ChatRequest:
    """The ChatRequest for an OpenAI body; InvalidRequest names the first field Bourse cannot honour."""
    if not request.messages:
        raise _bad("messages", "at least one message is required")
    if request.n is not None and not 1 <= request.n <= MAX_CHOICES:
        raise _bad("n", f"must be between 1 and {MAX_CHOICES}")
    if request.logprobs:
        raise _bad("logprobs", "log probabilities are not supported")
    chat = chat_pb2.ChatRequest(messages=[_message(m, i) for i, m in enumerate(request.messages)])
    _add_tools(request, chat)
    _set_response_format(request, chat)
    _set_sampling(request, chat.sampling)
    return chat


def _add_tools(request: ChatCompletionRequest, chat: chat_pb2.ChatRequest) -> None:
    for i, tool in enumerate(request.tools or ()):
        fn = tool.function
        add_tool(chat, fn.name, fn.description, fn.parameters, strict=fn.strict, name_field=f"tools[{i}].function.name")
    choice = request.tool_choice
    if isinstance(choice, NamedToolChoice):
        chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_NAMED
        chat.tool_choice.name = choice.function.name
    elif choice is not None:
        chat.tool_choice.mode = TOOL_CHOICE_FROM_WIRE[choice]


def add_tool(
    chat: chat_pb2.ChatRequest,
    name: str,
    description: str | None,
    parameters: dict[str, Any] | None,
    *,
    strict: bool | None,
    name_field: str,
) -> None:
    """One function tool; an empty name is a 400 naming `name_field`."""
    if not name:
        raise _bad(name_field, "must not be empty")
    chat.tools.add(
        name=name,
        description=description or "",
        parameters_json_schema=_json.encode(parameters).decode() if parameters else "",
        strict=bool(strict),
    )


def set_json_schema(
    fmt: chat_pb2.ResponseFormat, name: str, schema: dict[str, Any] | None, *, strict: bool | None
) -> None:
    """A JSON-schema answer format."""
    fmt.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    fmt.schema_name = name
    fmt.json_schema = _json.encode(schema or {}).decode()
    fmt.strict = bool(strict)


def _set_response_format(request: ChatCompletionRequest, chat: chat_pb2.ChatRequest) -> None:
    fmt = request.response_format
    if isinstance(fmt, JsonObjectFormat):
        chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
    elif isinstance(fmt, JsonSchemaFormat):
        set_json_schema(
            chat.response_format, fmt.json_schema.name, fmt.json_schema.schema, strict=fmt.json_schema.strict
        )


def _set_sampling(request: ChatCompletionRequest, sampling: chat_pb2.SamplingParams) -> None:
    max_tokens = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    stops = [request.stop] if isinstance(request.stop, str) else (request.stop or [])
    set_sampling(sampling, request.temperature, request.top_p, max_tokens, stops=stops, stop_field="stop")
    if request.seed is not None:
        sampling.seed = request.seed


def set_sampling(
    sampling: chat_pb2.SamplingParams,
    temperature: float | None,
    top_p: float | None,
    max_tokens: int | None,
    *,
    stops: list[str],
    stop_field: str,
) -> None:
    """The sampling parameters every API shares; too many stop sequences is a 400 naming `stop_field`."""
    if temperature is not None:
        sampling.temperature = temperature
    if top_p is not None:
        sampling.top_p = top_p
    if max_tokens is not None:
        sampling.max_tokens = max_tokens
    if len(stops) > MAX_STOP_SEQUENCES:
        raise _bad(stop_field, f"at most {MAX_STOP_SEQUENCES} stop sequences")
    sampling.stop.extend(stops)


def micro_to_usd(micro: int) -> str:
    """Micro-dollars as an exact decimal USD string ("0.000125")."""
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"


def model_name(provider: str, model: str) -> str:
    return f"{provider}/{model}" if provider else model


def route_summary(response: router_pb2.RouteResponse) -> dict[str, Any]:
    """What Bourse did for a request, as the `bourse` object of responses and final stream chunks."""
    return {
        "request_id": response.request_id,
        "provider": response.provider,
        "model": response.model,
        "served_from": SERVED_FROM.get(response.served_from, "none"),
        "cost_usd": micro_to_usd(response.cost_micro_usd),
        "saved_usd": micro_to_usd(response.saved_micro_usd),
        "attempts": len(response.attempts),
    }


def route_headers(response: router_pb2.RouteResponse) -> dict[str, str]:
    """Response headers that tell what happened."""
    return {
        "x-request-id": response.request_id,
        "x-bourse-client-request-id": response.client_request_id,
        "x-bourse-provider": response.provider,
        "x-bourse-model": response.model,
        "x-bourse-cost-usd": micro_to_usd(response.cost_micro_usd),
        "x-bourse-served-from": SERVED_FROM.get(response.served_from, "none"),
        "x-bourse-attempts": str(len(response.attempts)),
    }


def usage(completion: chat_pb2.ChatCompletion) -> dict[str, Any]:
    return usage_to_wire(completion.usage)


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}} for c in calls
    ]


def to_completion(response: router_pb2.RouteResponse, created: int) -> dict[str, Any]:
    """The OpenAI chat.completion object for a RouteResponse."""
    completion = response.completion
    message: dict[str, Any] = {"role": "assistant", "content": completion.content or None, "refusal": None}
    if completion.tool_calls:
        message["tool_calls"] = _tool_calls(completion.tool_calls)
    elif message["content"] is None:
        message["content"] = ""
    return {
        "id": f"chatcmpl-{response.request_id}",
        "object": "chat.completion",
        "created": created,
        "model": model_name(response.provider, response.model),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH_REASONS.get(completion.finish_reason, "stop"),
                "logprobs": None,
            }
        ],
        "usage": usage(completion),
        "bourse": route_summary(response),
    }


class ChunkWriter:
    """Builds the chat.completion.chunk objects of one stream (id, created and model fixed per stream)."""

    def __init__(self, request_id: str, created: int, model: str) -> None:
        self.id = f"chatcmpl-{request_id}"
        self.created = created
        self.model = model
        self._sent_role = False
        self._sent_content = False
        self._sent_tool_calls = False

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }

    def delta(self, delta: chat_pb2.ChatDelta) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not self._sent_role:
            out["role"] = "assistant"
            self._sent_role = True
        if delta.content:
            out["content"] = delta.content
            self._sent_content = True
        if delta.tool_calls:
            self._sent_tool_calls = True
            calls = []
            for call in delta.tool_calls:
                item: dict[str, Any] = {"index": call.index, "function": {"arguments": call.arguments_fragment}}
                if call.id:
                    item["id"] = call.id
                    item["type"] = "function"
                if call.name:
                    item["function"]["name"] = call.name
                calls.append(item)
            out["tool_calls"] = calls
        return self._chunk([{"index": 0, "delta": out, "finish_reason": None, "logprobs": None}])

    def finish(self, summary: router_pb2.RouteResponse) -> dict[str, Any]:
        """The last choice chunk: finish reason, the answering model and what Bourse did."""
        self.model = model_name(summary.provider, summary.model)
        delta: dict[str, Any] = {} if self._sent_role else {"role": "assistant", "content": ""}
        self._sent_role = True
        # An answer that came whole (no deltas) is still delivered: text and tool calls go in this last chunk.
        completion = summary.completion
        if completion.content and not self._sent_content:
            delta["content"] = completion.content
        if completion.tool_calls and not self._sent_tool_calls:
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(_tool_calls(completion.tool_calls))]
        reason = FINISH_REASONS.get(summary.completion.finish_reason, "stop")
        return self._chunk(
            [{"index": 0, "delta": delta, "finish_reason": reason, "logprobs": None}],
            bourse=route_summary(summary),
        )

    def usage(self, summary: router_pb2.RouteResponse) -> dict[str, Any]:
        """The usage chunk (stream_options.include_usage): no choices, the usage of the whole request."""
        return self._chunk([], usage=usage(summary.completion))
