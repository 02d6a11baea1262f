"""Simulated Anthropic Messages (POST /{provider}/v1/messages), JSON and the SSE event sequence.

Shapes follow https://docs.anthropic.com/en/api/messages and .../messages-streaming; validation errors and
error bodies use Anthropic's {"type": "error", "error": {...}} envelope.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from services.simulator.engine import Plan, Prompt, Simulator, count_tokens
from services.simulator.wire import (
    MID_STREAM,
    cut_stream,
    early_fault,
    error_body_now,
    json_response,
    pause,
    read_json,
    sse_event,
    start_sse,
)

# The error event this provider sends mid-stream (fault kind stream_error).
STREAM_ERROR_EVENT = sse_event(
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error"
)


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_sim"}
    return json_response(status, body, headers)


def _validate(request: web.Request, body: object) -> web.Response | None:
    if not request.headers.get("anthropic-version"):
        return _error(400, "invalid_request_error", "anthropic-version: header is required")
    if not isinstance(body, dict):
        return _error(400, "invalid_request_error", "There was an error parsing the body of your request.")
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            return _error(400, "invalid_request_error", f"{field}: Field required")
    return _validate_messages(body["messages"])


def _validate_messages(messages: object) -> web.Response | None:
    if not isinstance(messages, list) or not messages:
        return _error(400, "invalid_request_error", "messages: at least one message is required")
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            return _error(
                400,
                "invalid_request_error",
                'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
                'not "system" as an input message role.',
            )
        if role not in ("user", "assistant"):
            return _error(400, "invalid_request_error", f"messages.{i}.role: Input should be 'user' or 'assistant'")
    return None


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict):
            if block.get("type") == "text":
                texts.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                texts.append(_text(block.get("content", "")))
    return " ".join(texts)


def prompt_of(body: dict[str, Any]) -> Prompt:
    system = body.get("system")
    texts = [_text(system)] if system else []
    texts += [_text(m.get("content")) for m in body["messages"]]
    choice = body.get("tool_choice") or {}
    mode = {"any": "required", "tool": "named", "none": "none"}.get(str(choice.get("type")), "auto")
    tools = [(str(t.get("name")), t.get("input_schema") or {}) for t in body.get("tools") or () if isinstance(t, dict)]
    return Prompt(
        texts=texts,
        max_tokens=int(body["max_tokens"]),
        tools=tools,
        tool_mode=mode,
        tool_name=str(choice.get("name", "")),
        after_tool_result=_ends_with_tool_result(body["messages"][-1]),
    )


def _ends_with_tool_result(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def _preface(plan: Plan) -> str:
    """Claude introduces a tool call with a sentence (as in the documented tool_use examples)."""
    return f"I'll use {plan.tool_call[0]}." if plan.tool_call is not None else ""


def fault_response(plan: Plan) -> web.Response:
    retry = {"retry-after": f"{max(1, round(plan.retry_after_s))}"}
    if plan.fault == "rate_limit":
        return _error(
            429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit.", retry
        )
    if plan.fault == "overloaded":
        return _error(529, "overloaded_error", "Overloaded", retry)
    if plan.fault == "context_length":
        return _error(
            400,
            "invalid_request_error",
            f"prompt is too long: {plan.prompt_tokens} tokens > {plan.context_window} maximum",
        )
    if plan.fault == "authentication":
        return _error(401, "authentication_error", "invalid x-api-key")
    return _error(500, "api_error", "Internal server error")


def _stop_reason(plan: Plan) -> str:
    return {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}[plan.finish]


def _usage(plan: Plan) -> dict[str, int]:
    return {
        "input_tokens": plan.prompt_tokens - plan.cached_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": plan.cached_tokens,
        "output_tokens": plan.completion_tokens + count_tokens(_preface(plan)),
    }


async def handle(sim: Simulator, request: web.Request) -> web.StreamResponse:
    provider = request.match_info["provider"]
    body = await read_json(request)
    invalid = _validate(request, body)
    if invalid is not None:
        return invalid
    assert isinstance(body, dict)
    model = str(body["model"])
    plan = sim.plan(provider, model, prompt_of(body))
    stream = bool(body.get("stream"))
    early = await early_fault(request, plan.fault, plan.hang_s, stream=stream)
    if early is not None:
        return early
    if error_body_now(plan.fault, stream=stream):
        return fault_response(plan)
    message_id = f"msg_sim{sim.requests[f'{provider}/{model}']:08d}"
    tool_id = f"toolu_sim{sim.requests[f'{provider}/{model}']:08d}"
    if stream:
        return await _stream(request, plan, message_id=message_id, tool_id=tool_id, model=model)
    await pause(plan.latency_s)
    content: list[dict[str, Any]] = []
    text = "".join(plan.pieces) or _preface(plan)
    if text:
        content.append({"type": "text", "text": text})
    if plan.tool_call is not None:
        name, arguments = plan.tool_call
        content.append({"type": "tool_use", "id": tool_id, "name": name, "input": _json(arguments)})
    return json_response(
        200,
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": _stop_reason(plan),
            "stop_sequence": None,
            "usage": _usage(plan),
        },
    )


def _json(text: str) -> object:
    return msgspec.json.decode(text)


async def _stream(request: web.Request, plan: Plan, *, message_id: str, tool_id: str, model: str) -> web.StreamResponse:
    response = await start_sse(request)
    usage = _usage(plan)
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    await pause(plan.ttft_s)
    await response.write(sse_event({"type": "message_start", "message": message}, "message_start"))
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    text_pieces = plan.pieces or ([_preface(plan)] if plan.tool_call is not None else [])
    if text_pieces:
        blocks.append(({"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in text_pieces]))
    if plan.tool_call is not None:
        name, arguments = plan.tool_call
        json_deltas = [
            {"type": "input_json_delta", "partial_json": arguments[i : i + 8]} for i in range(0, len(arguments), 8)
        ]
        blocks.append(({"type": "tool_use", "id": tool_id, "name": name, "input": {}}, json_deltas))
    total = sum(len(deltas) for _, deltas in blocks)
    sent = 0
    for index, (block, deltas) in enumerate(blocks):
        start = {"type": "content_block_start", "index": index, "content_block": block}
        await response.write(sse_event(start, "content_block_start"))
        if index == 0:
            await response.write(sse_event({"type": "ping"}, "ping"))
        for delta in deltas:
            if plan.fault in MID_STREAM and sent >= total // 2:
                await cut_stream(request, response, plan.fault, STREAM_ERROR_EVENT)
                return response
            if sent:
                await pause(plan.gap_s)
            sent += 1
            await response.write(
                sse_event({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
            )
        await response.write(sse_event({"type": "content_block_stop", "index": index}, "content_block_stop"))
    if plan.fault in MID_STREAM:
        await cut_stream(request, response, plan.fault, STREAM_ERROR_EVENT)
        return response
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(plan), "stop_sequence": None},
        "usage": {"output_tokens": usage["output_tokens"]},
    }
    await response.write(sse_event(end, "message_delta"))
    await response.write(sse_event({"type": "message_stop"}, "message_stop"))
    await response.write_eof()
    return response
