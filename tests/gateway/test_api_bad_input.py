"""Bad input to /v1/messages and /v1/responses: each is a 4xx in its own API's error shape, never a 500."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.gateway.conftest import GatewayStack

_PNG_BAD = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "@@@"}}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 404: "not_found_error", 405: "invalid_request_error"}
_ANTHROPIC_TYPES[413] = "request_too_large"


def _messages(**fields: Any) -> str:
    body = {"model": "bourse/cheapest", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **fields}
    return json.dumps(body)


def _user(*blocks: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def _responses(**fields: Any) -> str:
    return json.dumps({"model": "bourse/cheapest", "input": "hi", **fields})


async def _call(stack: GatewayStack, path: str, body: str | bytes, method: str = "POST") -> tuple[int, Any]:
    headers = {"x-api-key": stack.key, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, stack.root_url + path, data=body, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ('{"model": ', 400, None),
        ("[]", 400, None),
        ('"just a string"', 400, None),
        (json.dumps({"model": "bourse/cheapest", "messages": [{"role": "user", "content": "hi"}]}), 400, "max_tokens"),
        (_messages(max_tokens="ten"), 400, "max_tokens"),
        (_messages(max_tokens=0), 400, "max_tokens"),
        (_messages(messages="hi"), 400, "messages"),
        (_messages(messages=[]), 400, "messages"),
        (_messages(messages=[{"role": "system", "content": "x"}]), 400, "messages[0].role"),
        (_messages(messages=[{"role": "tool", "content": "x"}]), 400, "messages[0].role"),
        (_messages(messages=[{"role": "user"}]), 400, "content"),
        (_messages(messages=[{"role": "user", "content": 5}]), 400, "messages[0].content"),
        (_messages(messages=[{"role": "user", "content": []}]), 400, "messages[0].content"),
        (_messages(messages=_user({"type": "document", "source": {}})), 400, "messages[0].content[0]"),
        (_messages(messages=_user({"type": "text"})), 400, "messages[0].content[0]"),
        (_messages(messages=_user({"type": "tool_use", "id": "t", "name": "f", "input": {}})), 400, "content[0]"),
        (
            _messages(messages=[{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]),
            400,
            "messages[0].content[0]",
        ),
        (_messages(messages=_user(_PNG_BAD)), 400, "messages[0].content[0].source.data"),
        (_messages(messages=_user({"type": "image", "source": {"type": "file", "file_id": "f"}})), 400, "source"),
        (_messages(tools=[{"type": "web_search_20250305", "name": "web_search", "input_schema": {}}]), 400, "tools"),
        (_messages(tools=[{"name": "", "input_schema": {}}]), 400, "tools[0].name"),
        (_messages(tool_choice={"type": "bogus"}), 400, "tool_choice"),
        (_messages(stop_sequences=["a", "b", "c", "d", "e"]), 400, "stop_sequences"),
        (_messages(temperature=3), 400, "temperature"),
        (_messages(system=[{"type": "image"}]), 400, "system"),
        (_messages(metadata={"user_id": 5}), 400, "metadata.user_id"),
        (_messages(bourse={"colour": "red"}), 400, "bourse"),
        (_messages(model="bourse/nonexistent"), 404, None),
    ],
)
async def test_messages_bad_input_in_anthropic_shape(
    stack: GatewayStack, body: str, status: int, field: str | None
) -> None:
    got, error = await _call(stack, "/v1/messages", body)
    assert got == status, error
    assert error["type"] == "error"
    assert error["error"]["type"] == _ANTHROPIC_TYPES[status]
    assert error["error"]["message"]
    if field is not None:
        assert field in error["error"]["message"]


async def test_messages_oversized_body_and_wrong_method(stack: GatewayStack) -> None:
    too_big = _messages(messages=[{"role": "user", "content": "x" * (stack.config.max_body_bytes + 1)}])
    got, error = await _call(stack, "/v1/messages", too_big)
    assert got == 413
    assert error["error"]["type"] == "request_too_large"
    got, error = await _call(stack, "/v1/messages", "", method="GET")
    assert got == 405
    assert error["type"] == "error"


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ('{"model": ', 400, None),
        ("[]", 400, None),
        (json.dumps({"model": "bourse/cheapest"}), 400, None),
        (_responses(input=5), 400, "input"),
        (_responses(input=[]), 400, "input"),
        (_responses(input=[{"type": "reasoning", "summary": []}]), 400, "input[0].type"),
        (_responses(input=[{"content": "no role"}]), 400, "input[0].type"),
        (_responses(input=[{"role": "tool", "content": "x"}]), 400, "input[0].role"),
        (_responses(input=[{"role": "user", "content": [{"type": "input_audio"}]}]), 400, "input[0].content[0]"),
        (
            _responses(input=[{"role": "user", "content": [{"type": "input_image"}]}]),
            400,
            "input[0].content[0].image_url",
        ),
        (_responses(input=[{"type": "function_call", "name": "f", "arguments": "{}"}]), 400, "input[0]"),
        (_responses(input=[{"type": "function_call_output", "call_id": "", "output": "x"}]), 400, "input[0].call_id"),
        (_responses(input=[{"role": "user", "content": 7}]), 400, "input[0].content"),
        (_responses(instructions="only instructions", input=[]), 400, "input"),
        (_responses(tools=[{"type": "web_search"}]), 400, "tools[0].type"),
        (_responses(tools=[{"type": "function", "name": ""}]), 400, "tools[0].name"),
        (_responses(tool_choice="sometimes"), 400, "tool_choice"),
        (_responses(text={"format": {"type": "xml"}}), 400, "text.format"),
        (_responses(text={"format": {"type": "json_schema", "name": "x"}}), 400, "text.format"),
        (_responses(temperature=5), 400, "temperature"),
        (_responses(max_output_tokens=-1), 400, "max_output_tokens"),
        (_responses(previous_response_id="resp_1"), 400, "previous_response_id"),
        (_responses(metadata={"k": 1}), 400, "metadata"),
        (_responses(bourse={"task_kind": "poetry"}), 400, "bourse.task_kind"),
        (_responses(model="no-such/model"), 404, "model"),
    ],
)
async def test_responses_bad_input_in_openai_shape(
    stack: GatewayStack, body: str, status: int, param: str | None
) -> None:
    got, response = await _call(stack, "/v1/responses", body)
    assert got == status, response
    error = response["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == ("invalid_request_error" if status == 400 else "not_found_error")
    if param is not None:
        assert error["param"] is not None
        assert error["param"].startswith(param), error


async def test_responses_oversized_body_and_wrong_method(stack: GatewayStack) -> None:
    got, response = await _call(stack, "/v1/responses", _responses(input="x" * (stack.config.max_body_bytes + 1)))
    assert got == 413
    assert response["error"]["code"] == "payload_too_large"
    got, response = await _call(stack, "/v1/responses", "", method="GET")
    assert got == 405
    assert response["error"]["type"] == "invalid_request_error"
