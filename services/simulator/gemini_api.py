"""Simulated Gemini generateContent / streamGenerateContent (POST /{provider}/v1beta/models/{model}:{action}).

Shapes follow https://ai.google.dev/api/generate-content; errors use Google's {"error": {code, message,
status, details}} envelope, with RetryInfo on 429.
"""

from __future__ import annotations

from typing import Any

import msgspec
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

_ACTIONS = ("generateContent", "streamGenerateContent")

# The error event this provider sends mid-stream (fault kind stream_error).
STREAM_ERROR_EVENT = sse_event(
    {"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}
)


def _error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return json_response(code, {"error": error})


def _validate(body: object) -> web.Response | None:
    if not isinstance(body, dict):
        return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    contents = body.get("contents")
    if not contents:
        return _error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n")
    for content in contents:
        role = content.get("role", "user") if isinstance(content, dict) else None
        if role not in ("user", "model"):
            return _error(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.")
        if not (content.get("parts") if isinstance(content, dict) else None):
            return _error(
                400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents.parts: contents.parts must not be empty.\n"
            )
    return None


def _text(parts: object) -> str:
    texts: list[str] = []
    for part in parts if isinstance(parts, list) else ():
        if isinstance(part, dict):
            if "text" in part:
                texts.append(str(part["text"]))
            elif "functionResponse" in part:
                texts.append(msgspec.json.encode(part["functionResponse"].get("response", {})).decode())
    return " ".join(texts)


def prompt_of(body: dict[str, Any]) -> Prompt:
    system = body.get("systemInstruction")
    texts = [_text(system.get("parts"))] if isinstance(system, dict) else []
    texts += [_text(c.get("parts")) for c in body["contents"]]
    generation = body.get("generationConfig") or {}
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = {"ANY": "required", "NONE": "none"}.get(str(calling.get("mode")), "auto")
    names = calling.get("allowedFunctionNames") or []
    tools = [
        (str(d.get("name")), d.get("parametersJsonSchema") or d.get("parameters") or {})
        for tool in body.get("tools") or ()
        for d in tool.get("functionDeclarations") or ()
    ]
    limit = generation.get("maxOutputTokens")
    return Prompt(
        texts=texts,
        max_tokens=int(limit) if limit is not None else None,
        tools=tools,
        tool_mode="named" if names and mode == "required" else mode,
        tool_name=str(names[0]) if names else "",
        json_mode=generation.get("responseMimeType") == "application/json",
        after_tool_result=any("functionResponse" in p for p in body["contents"][-1].get("parts") or ()),
    )


def fault_response(plan: Plan) -> web.Response:
    if plan.fault == "rate_limit":
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{plan.retry_after_s:g}s"}
        return _error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", [retry])
    if plan.fault == "overloaded":
        return _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    if plan.fault == "context_length":
        return _error(
            400,
            "INVALID_ARGUMENT",
            f"The input token count ({plan.prompt_tokens}) exceeds the maximum number of tokens allowed "
            f"({plan.context_window}).",
        )
    if plan.fault == "authentication":
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
        return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [info])
    return _error(
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    )


def _usage(plan: Plan) -> dict[str, int]:
    usage = {
        "promptTokenCount": plan.prompt_tokens,
        "candidatesTokenCount": plan.completion_tokens - plan.reasoning_tokens,
        "totalTokenCount": plan.prompt_tokens + plan.completion_tokens,
    }
    if plan.cached_tokens:
        usage["cachedContentTokenCount"] = plan.cached_tokens
    if plan.reasoning_tokens:
        usage["thoughtsTokenCount"] = plan.reasoning_tokens
    return usage


def _finish(plan: Plan) -> str:
    return "MAX_TOKENS" if plan.finish == "length" else "STOP"


def _candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return candidate


def _parts(plan: Plan) -> list[dict[str, Any]]:
    if plan.tool_call is not None:
        name, arguments = plan.tool_call
        return [{"functionCall": {"name": name, "args": msgspec.json.decode(arguments)}}]
    return [{"text": "".join(plan.pieces)}]


async def handle(sim: Simulator, request: web.Request) -> web.StreamResponse:
    provider = request.match_info["provider"]
    model, _, action = request.match_info["model_action"].partition(":")
    body = await read_json(request)
    invalid = _error(404, "NOT_FOUND", f"Method not found: {action or '(none)'}") if action not in _ACTIONS else None
    invalid = _validate(body) if invalid is None else invalid
    if invalid is not None:
        return invalid
    assert isinstance(body, dict)
    plan = sim.plan(provider, model, prompt_of(body))
    stream = action == "streamGenerateContent"
    if stream and request.query.get("alt") != "sse":
        return _error(400, "INVALID_ARGUMENT", "The simulator streams only with alt=sse.")
    early = await early_fault(request, plan.fault, plan.hang_s, stream=stream)
    if early is not None:
        return early
    if error_body_now(plan.fault, stream=stream):
        return fault_response(plan)
    head = {"modelVersion": model, "responseId": f"sim{sim.requests[f'{provider}/{model}']:08d}"}
    if not stream:
        await pause(plan.latency_s)
        return json_response(
            200, {"candidates": [_candidate(_parts(plan), _finish(plan))], "usageMetadata": _usage(plan), **head}
        )
    return await _stream(request, plan, head)


async def _stream(request: web.Request, plan: Plan, head: dict[str, str]) -> web.StreamResponse:
    response = await start_sse(request)
    usage = _usage(plan)
    # Gemini reports the prompt count on every chunk and the completion count growing.
    chunks: list[list[dict[str, Any]]] = (
        [_parts(plan)] if plan.tool_call is not None else [[{"text": piece}] for piece in plan.pieces]
    )
    await pause(plan.ttft_s)
    for i, parts in enumerate(chunks):
        if plan.fault in MID_STREAM and i >= len(chunks) // 2:
            await cut_stream(request, response, plan.fault, STREAM_ERROR_EVENT)
            return response
        if i:
            await pause(plan.gap_s)
        last = i == len(chunks) - 1
        chunk_usage = (
            usage
            if last
            else {
                "promptTokenCount": plan.prompt_tokens,
                "candidatesTokenCount": i + 1,
                "totalTokenCount": plan.prompt_tokens + i + 1,
            }
        )
        event = {
            "candidates": [_candidate(parts, _finish(plan) if last else None)],
            "usageMetadata": chunk_usage,
            **head,
        }
        await response.write(sse_event(event).replace(b"\n\n", b"\r\n\r\n"))
    if plan.fault in MID_STREAM:
        await cut_stream(request, response, plan.fault, STREAM_ERROR_EVENT)
        return response
    await response.write_eof()
    return response
