"""Every bad input is a 4xx, never a 429 or a 500: a table of malformed requests through the real gateway and the
real router (simulator behind it), each with the status and error code it must get, on all three HTTP APIs.

The bounds come from shared/input_bounds.py (docs/input-bounds.md). The error code is the OpenAI shape's
`error.code` on /v1/chat/completions and /v1/responses, and the Anthropic shape's `error.type` on /v1/messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.gateway.conftest import RealStack

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
_USER = [{"role": "user", "content": "hi"}]


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    body: bytes
    status: int
    code: str
    headers: dict[str, str] = field(default_factory=dict)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _chat(**fields: Any) -> bytes:
    return _json({"model": "bourse/cheapest", "messages": _USER, **fields})


def _messages(**fields: Any) -> bytes:
    return _json({"model": "bourse/cheapest", "max_tokens": 16, "messages": _USER, **fields})


def _responses(**fields: Any) -> bytes:
    return _json({"model": "bourse/cheapest", "input": "hi", **fields})


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def _nested_text(depth: int) -> bytes:
    """A schema nested `depth` objects deep, as text (json.dumps itself would recurse too deep)."""
    return b'{"type": "object", "properties": {"a": ' * depth + b'{"type": "string"}' + b"}}" * depth


def _deep_text(depth: int) -> bytes:
    return b'{"model": "bourse/cheapest", "messages": ' + b"[" * depth + b"]" * depth + b"}"


def _chat_tools(names: list[str], parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": n, "parameters": parameters or {"type": "object"}}} for n in names
    ]


def _anthropic_tools(names: list[str]) -> list[dict[str, Any]]:
    return [{"name": n, "input_schema": {"type": "object"}} for n in names]


def _responses_tools(names: list[str]) -> list[dict[str, Any]]:
    return [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in names]


BAD_NAMES = [f"bad name {i}!" for i in range(2000)]  # the issue's 2,000 invalid tool names
DEEP = 10_000  # the issue's schema depth
FIFTY_DEEP = _nested(40)  # within the body's 64 levels, past a schema's 32
LONG_ID = "r" * 129
MANY_METADATA = {f"k{i}": "v" for i in range(100)}
BIG_METADATA = {f"k{i}": "v" * 250 for i in range(40)}  # 40 entries, 10 KB in total

CASES = [
    # --- the four measured failures of issue 14, item 5, on every API
    Case(
        "chat schema 10,000 deep",
        CHAT,
        _chat(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": "__DEEP__"}}).replace(
            b'"__DEEP__"', _nested_text(DEEP)
        ),
        400,
        "nesting_too_deep",
    ),
    Case(
        "messages schema 10,000 deep",
        MESSAGES,
        _messages(tools=[{"name": "f", "input_schema": "__DEEP__"}]).replace(b'"__DEEP__"', _nested_text(DEEP)),
        400,
        "invalid_request_error",
    ),
    Case(
        "responses schema 10,000 deep",
        RESPONSES,
        _responses(tools=[{"type": "function", "name": "f", "parameters": "__DEEP__"}]).replace(
            b'"__DEEP__"', _nested_text(DEEP)
        ),
        400,
        "nesting_too_deep",
    ),
    Case("chat body 10,000 deep", CHAT, _deep_text(DEEP), 400, "nesting_too_deep"),
    Case(
        "chat invalid UTF-8",
        CHAT,
        b'{"model": "bourse/cheapest", "messages": [{"role": "user", "content": "\xff"}]}',
        400,
        "invalid_encoding",
    ),
    Case("messages invalid UTF-8", MESSAGES, b'{"model": "\xc3\x28"}', 400, "invalid_request_error"),
    Case(
        "responses invalid UTF-8",
        RESPONSES,
        b'{"model": "bourse/cheapest", "input": "\xed\xa0\x80"}',
        400,
        "invalid_encoding",
    ),
    Case("chat 2,000 invalid tool names", CHAT, _chat(tools=_chat_tools(BAD_NAMES)), 400, "invalid_request"),
    Case(
        "messages 2,000 invalid tool names",
        MESSAGES,
        _messages(tools=_anthropic_tools(BAD_NAMES)),
        400,
        "invalid_request_error",
    ),
    Case(
        "responses 2,000 invalid tool names",
        RESPONSES,
        _responses(tools=_responses_tools(BAD_NAMES)),
        400,
        "invalid_request",
    ),
    Case("chat request id with CR/LF", CHAT, _chat(bourse={"request_id": "abc\r\nx-evil: 1"}), 400, "invalid_request"),
    Case(
        "messages request id with CR/LF",
        MESSAGES,
        _messages(bourse={"request_id": "a\nb"}),
        400,
        "invalid_request_error",
    ),
    Case(
        "responses request id with CR/LF", RESPONSES, _responses(bourse={"request_id": "a\rb"}), 400, "invalid_request"
    ),
    # --- request ids
    Case("x-request-id with a space", CHAT, _chat(), 400, "invalid_request", {"x-request-id": "a b"}),
    Case("x-request-id of 129 characters", CHAT, _chat(), 400, "invalid_request", {"x-request-id": LONG_ID}),
    Case("x-request-id with a slash", CHAT, _chat(), 400, "invalid_request", {"x-request-id": "a/b"}),
    Case("x-request-id with a quote", MESSAGES, _messages(), 400, "invalid_request_error", {"x-request-id": 'a"b'}),
    Case("body request id of 129 characters", CHAT, _chat(bourse={"request_id": LONG_ID}), 400, "invalid_request"),
    # --- metadata bounds (the issue's 13,000 entries, scaled to the 4 MiB body limit)
    Case("metadata over 64 entries", CHAT, _chat(metadata=MANY_METADATA), 400, "invalid_request"),
    Case("metadata over 8 KiB in total", CHAT, _chat(metadata=BIG_METADATA), 400, "invalid_request"),
    Case("metadata key over 64 bytes", CHAT, _chat(metadata={"k" * 65: "v"}), 400, "invalid_request"),
    Case("metadata value over 256 bytes", CHAT, _chat(metadata={"k": "v" * 257}), 400, "invalid_request"),
    Case(
        "metadata 13,000 entries",
        CHAT,
        _chat(metadata={f"k{i}": "v" * 200 for i in range(13_000)}),
        400,
        "invalid_request",
    ),
    Case("metadata value not a string", CHAT, _chat(metadata={"k": 5}), 400, "invalid_request"),
    Case("responses metadata over 64 entries", RESPONSES, _responses(metadata=MANY_METADATA), 400, "invalid_request"),
    # --- depth and size of schemas and lists
    Case("tool parameters 40 deep", CHAT, _chat(tools=_chat_tools(["f"], FIFTY_DEEP)), 400, "nesting_too_deep"),
    Case("200 valid tools", CHAT, _chat(tools=_chat_tools([f"f{i}" for i in range(200)])), 400, "invalid_request"),
    Case(
        "response_format schema 40 deep",
        CHAT,
        _chat(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": FIFTY_DEEP}}),
        400,
        "nesting_too_deep",
    ),
    # --- decoding
    Case("not JSON", CHAT, b"{nope", 400, "invalid_json"),
    Case("empty body", CHAT, b"", 400, "invalid_json"),
    Case("a JSON array", CHAT, b"[]", 400, "invalid_request"),
    Case(
        "a lone surrogate escape",
        CHAT,
        b'{"model": "bourse/cheapest", "messages": [{"role": "user", "content": "\\ud800"}]}',
        400,
        "invalid_json",
    ),
    Case("truncated JSON", RESPONSES, b'{"model": "bourse/cheapest", "input": "hi', 400, "invalid_json"),
    # --- fields the router validates
    Case("no messages", CHAT, _chat(messages=[]), 400, "invalid_request"),
    Case("unknown role", CHAT, _chat(messages=[{"role": "wizard", "content": "x"}]), 400, "invalid_request"),
    Case("temperature 5", CHAT, _chat(temperature=5), 400, "invalid_request"),
    Case("top_p 0", CHAT, _chat(top_p=0), 400, "invalid_request"),
    Case("five stop sequences", CHAT, _chat(stop=["a", "b", "c", "d", "e"]), 400, "invalid_request"),
    Case(
        "tool_choice names no tool",
        CHAT,
        _chat(tool_choice={"type": "function", "function": {"name": "g"}}),
        400,
        "invalid_request",
    ),
    Case("unknown bourse option", CHAT, _chat(bourse={"colour": "red"}), 400, "invalid_request"),
    Case("negative max cost", CHAT, _chat(bourse={"max_cost_usd": -1}), 400, "invalid_request"),
    Case("unknown model", CHAT, _chat(model="no-such-model-anywhere"), 404, "model_not_found"),
    Case("bad routing header", CHAT, _chat(), 400, "invalid_request", {"x-bourse-max-attempts": "lots"}),
    Case("messages max_tokens 0", MESSAGES, _messages(max_tokens=0), 400, "invalid_request_error"),
    Case("responses unknown tool type", RESPONSES, _responses(tools=[{"type": "warp_drive"}]), 400, "invalid_request"),
]


def _code(path: str, body: Any) -> str:
    error = body["error"]
    return str(error["type"] if path == MESSAGES else error["code"])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_malformed_request_gets_its_4xx(real_stack: RealStack, case: Case) -> None:
    headers = {"Authorization": f"Bearer {real_stack.key}", "Content-Type": "application/json", **case.headers}
    url = real_stack.base_url.removesuffix("/v1") + case.path
    async with aiohttp.ClientSession() as session, session.post(url, data=case.body, headers=headers) as response:
        status = response.status
        body = await response.json(content_type=None)
    assert status not in (429, 500), body
    assert (status, _code(case.path, body)) == (case.status, case.code), body


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
