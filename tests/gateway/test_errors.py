"""Every error status in OpenAI's shape, the SDK's exception class for each, and bad input as 4xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import openai
import pytest

from tests.gateway.conftest import GatewayStack

CHAT = "/v1/chat/completions"


def _client(stack: GatewayStack, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.base_url, api_key=key or stack.key, max_retries=0)


async def _post(
    stack: GatewayStack, body: bytes | str, headers: dict[str, str] | None = None, path: str = CHAT
) -> tuple[int, dict[str, Any], dict[str, str]]:
    all_headers = {"Authorization": f"Bearer {stack.key}", "Content-Type": "application/json", **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.root_url + path, data=body, headers=all_headers) as response,
    ):
        return response.status, await response.json(content_type=None), dict(response.headers)


def _assert_openai_shape(body: dict[str, Any]) -> dict[str, Any]:
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("reason", "status", "exception", "retry_after"),
    [
        ("INVALID_REQUEST", 400, openai.BadRequestError, None),
        ("NO_QUALIFIED_MODEL", 400, openai.BadRequestError, None),
        ("CONTEXT_LENGTH_EXCEEDED", 400, openai.BadRequestError, None),
        ("PERMISSION_DENIED", 403, openai.PermissionDeniedError, None),
        ("NOT_FOUND", 404, openai.NotFoundError, None),
        ("BUDGET_EXCEEDED", 429, openai.RateLimitError, "42"),
        ("QUEUE_FULL", 429, openai.RateLimitError, "3"),
        ("RATE_LIMITED", 429, openai.RateLimitError, "7"),
        ("INTERNAL", 500, openai.InternalServerError, None),
        ("UPSTREAM_5XX", 502, openai.InternalServerError, None),
        ("AUTHENTICATION", 502, openai.InternalServerError, None),
        ("UPSTREAM_OVERLOADED", 503, openai.InternalServerError, None),
        ("DEADLINE_EXCEEDED", 504, openai.InternalServerError, None),
        ("READ_TIMEOUT", 504, openai.InternalServerError, None),
    ],
)
async def test_router_errors_map_to_status_and_sdk_class(
    stack: GatewayStack, reason: str, status: int, exception: type[openai.APIStatusError], retry_after: str | None
) -> None:
    async with _client(stack) as client:
        with pytest.raises(exception) as caught:
            await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": f"error:{reason}"}]
            )
    assert caught.value.status_code == status
    error = _assert_openai_shape(caught.value.response.json())
    expected_code = reason.removeprefix("UPSTREAM_").lower() if reason != "UPSTREAM_5XX" else "upstream_5xx"
    assert error["code"] == expected_code
    assert caught.value.response.headers.get("retry-after") == retry_after
    if reason == "INVALID_REQUEST":
        assert error["param"] == "chat.messages[0].role"


async def test_streaming_error_before_first_chunk_is_an_http_status(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "error:BUDGET_EXCEEDED"}], stream=True
            )


async def test_streaming_error_after_first_chunk_is_an_error_event(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "stream-error:UPSTREAM_5XX"}], stream=True
        )
        received = []
        with pytest.raises(openai.APIError, match="UPSTREAM_5XX"):
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content)  # noqa: PERF401 -- chunks before the error count
    assert received == ["partial"]


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "missing_api_key"),
        ("sk-not-a-bourse-key", "invalid_api_key"),
        ("bsk_0123456789abcdef_" + "x" * 43, "invalid_api_key"),  # well-formed, unknown id
    ],
)
async def test_missing_or_wrong_key_is_401(stack: GatewayStack, key: str | None, code: str) -> None:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    body = json.dumps({"model": "bourse/cheapest", "messages": [{"role": "user", "content": "x"}]})
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.root_url + CHAT, data=body, headers=headers) as response,
    ):
        assert response.status == 401
        error = _assert_openai_shape(await response.json())
    assert error["code"] == code
    assert error["type"] == "authentication_error"


async def test_right_id_wrong_secret_is_401_and_sdk_raises_authentication_error(stack: GatewayStack) -> None:
    forged = stack.key[:-4] + ("AAAA" if not stack.key.endswith("AAAA") else "BBBB")
    async with _client(stack, key=forged) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="bourse/cheapest", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()


async def test_malformed_authorization_header_is_401(stack: GatewayStack) -> None:
    status, body, _ = await _post(stack, "{}", headers={"Authorization": f"Basic {stack.key}"})
    assert status == 401
    _assert_openai_shape(body)


def _chat(**fields: Any) -> str:
    return json.dumps({"model": "bourse/cheapest", "messages": [{"role": "user", "content": "x"}], **fields})


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("{not json", None),
        ("", None),
        ("[1, 2]", "$"),
        ('{"model": "bourse/cheapest"}', "$"),  # messages missing
        ('{"model": 5, "messages": []}', "model"),
        (_chat(messages="hello"), "messages"),
        (_chat(messages=[{"role": "king", "content": "x"}]), "messages[0].role"),
        (_chat(temperature="hot"), "temperature"),
        (_chat(temperature=7), "temperature"),
        (_chat(max_tokens=-1), "max_tokens"),
        (_chat(n=0), "n"),
        (_chat(n=17), "n"),
        (_chat(messages=[]), "messages"),
        (_chat(messages=[{"role": "user"}]), "messages[0].content"),
        (_chat(messages=[{"role": "tool", "content": "x"}]), "messages[0].tool_call_id"),
        (_chat(messages=[{"role": "user", "content": [{"type": "audio"}]}]), "messages[0].content"),
        (_chat(stop=["a", "b", "c", "d", "e"]), "stop"),
        (_chat(tools=[{"type": "function", "function": {"name": ""}}]), "tools[0].function.name"),
        (_chat(bourse={"colour": 1}), "bourse"),
        (_chat(bourse={"task_kind": "x"}), "bourse.task_kind"),
        (_chat(bourse={"max_cost_usd": -1}), "bourse.max_cost_usd"),
        (_chat(metadata={"k": "v" * 300}), "metadata[k]"),
        (
            _chat(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}],
                    }
                ]
            ),
            "messages[0].content[0].image_url.url",
        ),
    ],
)
async def test_bad_bodies_are_400_never_500(stack: GatewayStack, body: str, param: str | None) -> None:
    status, response, _ = await _post(stack, body)
    assert status == 400, response
    error = _assert_openai_shape(response)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] is not None
        assert error["param"].startswith(param), error


@pytest.mark.parametrize(
    ("headers", "param"),
    [
        ({"x-bourse-max-cost-usd": "cheap"}, "x-bourse-max-cost-usd"),
        ({"x-bourse-latency-budget-ms": "-5"}, "x-bourse-latency-budget-ms"),
        ({"x-bourse-favourite-colour": "blue"}, "x-bourse-favourite-colour"),
        ({"x-bourse-min-tier": "platinum"}, "bourse.min_tier"),
    ],
)
async def test_bad_routing_headers_are_400(stack: GatewayStack, headers: dict[str, str], param: str) -> None:
    body = json.dumps({"model": "bourse/cheapest", "messages": [{"role": "user", "content": "x"}]})
    status, response, _ = await _post(stack, body, headers=headers)
    assert status == 400
    assert _assert_openai_shape(response)["param"] == param


async def test_oversized_body_is_413(stack: GatewayStack) -> None:
    big = json.dumps(
        {"model": "bourse/cheapest", "messages": [{"role": "user", "content": "x" * (stack.config.max_body_bytes)}]}
    )
    status, response, _ = await _post(stack, big)
    assert status == 413
    assert _assert_openai_shape(response)["code"] == "payload_too_large"
    async with _client(stack) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "y" * stack.config.max_body_bytes}]
            )
    assert caught.value.status_code == 413


async def test_oversized_chunked_body_is_413(stack: GatewayStack) -> None:
    async def chunks() -> Any:
        for _ in range(stack.config.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    headers = {"Authorization": f"Bearer {stack.key}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.root_url + CHAT, data=chunks(), headers=headers) as response,
    ):
        assert response.status == 413
        _assert_openai_shape(await response.json())


@pytest.mark.parametrize("model", ["nope/unknown-model", "bourse/cleverest"])
async def test_unknown_model_or_alias_is_404(stack: GatewayStack, model: str) -> None:
    async with _client(stack) as client:
        with pytest.raises(openai.NotFoundError) as caught:
            await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert caught.value.response.json()["error"]["code"] == "model_not_found"


async def test_unknown_path_and_wrong_method_in_openai_shape(stack: GatewayStack) -> None:
    headers = {"Authorization": f"Bearer {stack.key}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(stack.root_url + "/v1/nothing", headers=headers) as response:
            assert response.status == 404
            _assert_openai_shape(await response.json())
        async with session.get(stack.root_url + CHAT, headers=headers) as response:
            assert response.status == 405
            _assert_openai_shape(await response.json())


async def test_embeddings_with_inference_down_is_503(stack: GatewayStack) -> None:
    async with _client(stack) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await client.embeddings.create(model="local", input="hello")
    assert caught.value.status_code == 503
    _assert_openai_shape(caught.value.response.json())


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ('{"model": "local", "input": []}', "input"),
        ('{"model": "local", "input": [1, 2, 3]}', "input"),
        ('{"model": "local", "input": "x", "dimensions": 64}', "dimensions"),
        ('{"model": "local", "input": "x", "encoding_format": "int8"}', "encoding_format"),
    ],
)
async def test_bad_embedding_bodies_are_400(stack: GatewayStack, body: str, param: str) -> None:
    status, response, _ = await _post(stack, body, path="/v1/embeddings")
    assert status == 400
    assert _assert_openai_shape(response)["param"].startswith(param)


async def _raw_request(stack: GatewayStack, extra_headers: bytes, authorization: bytes | None = None) -> int:
    """Send header bytes that are not UTF-8 (no HTTP client library lets you), return the status."""
    body = json.dumps({"model": "bourse/cheapest", "messages": [{"role": "user", "content": "x"}]}).encode()
    auth = authorization if authorization is not None else f"Bearer {stack.key}".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.port)
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
        + b"Authorization: "
        + auth
        + b"\r\n"
        + extra_headers
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    rest = await reader.read()
    writer.close()
    assert b'"error"' in rest
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    ("headers", "authorization", "status"),
    [
        (b"x-bourse-allowed-models: \xff\xfe\r\n", None, 400),
        (b"x-bourse-output-pattern: a\xffb\r\n", None, 400),
        (b"x-request-id: \xc3\x28\r\n", None, 400),
        (b"", b"Bearer bsk_0123456789abcdef_\xff\xfe", 401),
    ],
)
async def test_header_bytes_that_are_not_utf8_are_4xx(
    stack: GatewayStack, headers: bytes, authorization: bytes | None, status: int
) -> None:
    assert await _raw_request(stack, headers, authorization) == status
