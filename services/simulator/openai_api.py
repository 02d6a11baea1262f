"""Simulated OpenAI Chat Completions (POST /{provider}/v1/chat/completions), JSON and SSE.

Shapes follow https://platform.openai.com/docs/api-reference/chat; validation errors use OpenAI's own 400 bodies.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from services.simulator.engine import Plan, Prompt, Simulator
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

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")

# The error event this provider sends mid-stream (fault kind stream_error).
STREAM_ERROR_EVENT = sse_event(
    {
        "error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
)


def _error(status: int, message: str, kind: str, code: str | None, param: str | None = None) -> web.Response:
    return json_response(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})


def _validate(body: object) -> web.Response | None:
    if not isinstance(body, dict):
        return _error(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
            "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            "invalid_request_error",
            None,
        )
    if not body.get("model"):
        return _error(400, "you must provide a model parameter", "invalid_request_error", None)
    messages = body.get("messages")
    if messages is None:
        return _error(
            400,
            "Missing required parameter: 'messages'.",
            "invalid_request_error",
            "missing_required_parameter",
            "messages",
        )
    if not isinstance(messages, list) or not messages:
        return _error(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "invalid_request_error",
            "empty_array",
            "messages",
        )
    return _validate_messages(messages)


def _validate_messages(messages: list[Any]) -> web.Response | None:
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in _ROLES:
            return _error(
                400,
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', "
                "and 'developer'.",
                "invalid_request_error",
                "invalid_value",
                f"messages[{i}].role",
            )
        if role == "tool" and not message.get("tool_call_id"):
            return _error(
                400,
                "Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'.",
                "invalid_request_error",
                None,
                f"messages.[{i}].tool_call_id",
            )
    return None


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    texts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        texts.append(str(content or ""))
    return texts


def prompt_of(body: dict[str, Any]) -> Prompt:
    choice = body.get("tool_choice")
    mode, name = "auto", ""
    if choice in ("none", "auto"):
        mode = str(choice)
    elif choice in ("required", "any"):
        mode = "required"
    elif isinstance(choice, dict):
        mode, name = "named", str((choice.get("function") or {}).get("name", ""))
    tools = [
        (str(t["function"]["name"]), t["function"].get("parameters") or {})
        for t in body.get("tools") or ()
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    fmt = (body.get("response_format") or {}).get("type")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return Prompt(
        texts=_texts(body["messages"]),
        max_tokens=int(limit) if limit is not None else None,
        tools=tools,
        tool_mode=mode,
        tool_name=name,
        json_mode=fmt in ("json_object", "json_schema"),
        after_tool_result=body["messages"][-1].get("role") == "tool",
    )


def fault_response(plan: Plan, model: str) -> web.Response:
    retry = {"retry-after": f"{plan.retry_after_s:g}", "retry-after-ms": f"{plan.retry_after_s * 1000:g}"}
    if plan.fault == "rate_limit":
        return json_response(
            429,
            {
                "error": {
                    "message": f"Rate limit reached for {model} in organization org-sim on requests per min "
                    "(RPM): Limit 3, Used 3, Requested 1. Please try again later.",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
            {**retry, "x-ratelimit-reset-requests": f"{plan.retry_after_s:g}s"},
        )
    if plan.fault == "overloaded":
        return json_response(
            503,
            {
                "error": {
                    "message": "The server is overloaded or not ready yet.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
            retry,
        )
    if plan.fault == "context_length":
        return _error(
            400,
            f"This model's maximum context length is {plan.context_window} tokens. However, your messages resulted "
            f"in {plan.prompt_tokens} tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        )
    if plan.fault == "authentication":
        return _error(
            401,
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        )
    return _error(500, "The server had an error while processing your request. Sorry about that!", "server_error", None)


def _usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_calls(plan: Plan, response_id: str) -> list[dict[str, Any]]:
    assert plan.tool_call is not None
    name, arguments = plan.tool_call
    return [{"id": f"call_{response_id[-12:]}", "type": "function", "function": {"name": name, "arguments": arguments}}]


async def handle(sim: Simulator, request: web.Request) -> web.StreamResponse:
    provider = request.match_info["provider"]
    body = await read_json(request)
    invalid = _validate(body)
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
        return fault_response(plan, model)
    response_id = f"chatcmpl-sim{sim.requests[f'{provider}/{model}']:08d}"
    created = int(time.time())
    if not stream:
        await pause(plan.latency_s)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.pieces) or None, "refusal": None}
        if plan.tool_call is not None:
            message["tool_calls"] = _tool_calls(plan, response_id)
        return json_response(
            200,
            {
                "id": response_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish}],
                "usage": _usage(plan),
                "system_fingerprint": "fp_sim",
            },
        )
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return await _stream(
        request, plan, response_id=response_id, created=created, model=model, include_usage=include_usage
    )


async def _stream(
    request: web.Request, plan: Plan, *, response_id: str, created: int, model: str, include_usage: bool
) -> web.StreamResponse:
    response = await start_sse(request)
    head: dict[str, Any] = {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_sim",
    }
    if include_usage:
        head["usage"] = None  # with include_usage, every chunk but the last carries "usage": null

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse_event({**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    await pause(plan.ttft_s)
    await response.write(chunk({"role": "assistant", "content": "", "refusal": None}))
    pieces = plan.pieces
    if plan.tool_call is not None:
        call = _tool_calls(plan, response_id)[0]
        await response.write(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        pieces = []
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), 8):
            await response.write(
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[start : start + 8]}}]})
            )
    for i, piece in enumerate(pieces):
        if plan.fault in MID_STREAM and i >= len(pieces) // 2:
            await cut_stream(request, response, plan.fault, STREAM_ERROR_EVENT)
            return response
        if i:
            await pause(plan.gap_s)
        await response.write(chunk({"content": piece}))
    if plan.fault in MID_STREAM:
        await cut_stream(request, response, plan.fault, STREAM_ERROR_EVENT)
        return response
    await response.write(chunk({}, plan.finish))
    if include_usage:
        await response.write(sse_event({**head, "choices": [], "usage": _usage(plan)}))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response
