"""Requests validated the way the real APIs do (their own 400 bodies); the run-time control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.simulator.config import SimulatorConfig
from shared.processes import free_port
from tests.simulator.conftest import running
from tests.simulator.requests import ANTHROPIC_HEADERS, anthropic, gemini, openai


@pytest.fixture
async def sim() -> AsyncIterator[aiohttp.ClientSession]:
    async with running(SimulatorConfig(listen="127.0.0.1:0")) as session:
        yield session


async def post(
    sim: aiohttp.ClientSession, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else None
    async with sim.post(path, json=None if data else body, data=data, headers=headers) as response:
        return response.status, await response.json()


OPENAI_CASES = [
    ({"messages": [{"role": "user", "content": "x"}]}, "you must provide a model parameter", None),
    ({"model": "m"}, "Missing required parameter: 'messages'.", "missing_required_parameter"),
    ({"model": "m", "messages": []}, "Invalid 'messages': empty array.", "empty_array"),
    ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "Invalid value: 'robot'.", "invalid_value"),
    ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "Missing parameter 'tool_call_id'", None),
]


@pytest.mark.parametrize(("body", "message", "code"), OPENAI_CASES)
async def test_openai_validation(
    sim: aiohttp.ClientSession, body: dict[str, Any], message: str, code: str | None
) -> None:
    status, error = await post(sim, "/openai/v1/chat/completions", body)
    assert status == 400
    assert error["error"]["message"].startswith(message)
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["code"] == code


async def test_openai_rejects_non_json(sim: aiohttp.ClientSession) -> None:
    status, error = await post(sim, "/openai/v1/chat/completions", b"{oops")
    assert status == 400
    assert "could not parse the JSON body" in error["error"]["message"]


ANTHROPIC_CASES = [
    ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens: Field required"),
    ({"model": "m", "max_tokens": 5}, "messages: Field required"),
    ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model: Field required"),
    (
        {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
        'messages: Unexpected role "system"',
    ),
    (
        {"model": "m", "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]},
        "messages.0.role: Input should be",
    ),
]


@pytest.mark.parametrize(("body", "message"), ANTHROPIC_CASES)
async def test_anthropic_validation(sim: aiohttp.ClientSession, body: dict[str, Any], message: str) -> None:
    status, error = await post(sim, "/anthropic/v1/messages", body, ANTHROPIC_HEADERS)
    assert status == 400
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(message)


async def test_anthropic_requires_the_version_header(sim: aiohttp.ClientSession) -> None:
    status, error = await post(sim, "/anthropic/v1/messages", anthropic())
    assert status == 400
    assert error["error"]["message"] == "anthropic-version: header is required"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "* GenerateContentRequest.contents: contents is not specified"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "Please use a valid role: user, model."),
        ({"contents": [{"role": "user", "parts": []}]}, "* GenerateContentRequest.contents.parts"),
    ],
)
async def test_gemini_validation(sim: aiohttp.ClientSession, body: dict[str, Any], message: str) -> None:
    status, error = await post(sim, "/gemini/v1beta/models/g:generateContent", body)
    assert status == 400
    assert error["error"]["status"] == "INVALID_ARGUMENT"
    assert error["error"]["code"] == 400
    assert error["error"]["message"].startswith(message)


async def test_gemini_unknown_method(sim: aiohttp.ClientSession) -> None:
    status, error = await post(sim, "/gemini/v1beta/models/g:countBananas", gemini())
    assert status == 404
    assert error["error"]["status"] == "NOT_FOUND"


async def test_faults_stats_and_health(sim: aiohttp.ClientSession) -> None:
    async with sim.get("/healthz") as response:
        assert response.status == 200
    async with sim.post("/_sim/faults", json={"provider": "groq", "model": "m", "kind": "overloaded", "count": 2}) as r:
        assert r.status == 201
    statuses = [(await post(sim, "/groq/v1/chat/completions", openai("m")))[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    async with sim.post("/_sim/faults", json={"kind": "rate_limit", "duration_s": 60}) as r:
        assert r.status == 201  # any provider, any model
    assert (await post(sim, "/anthropic/v1/messages", anthropic("x"), ANTHROPIC_HEADERS))[0] == 429
    async with sim.delete("/_sim/faults") as r:
        assert r.status == 200
    assert (await post(sim, "/anthropic/v1/messages", anthropic("x"), ANTHROPIC_HEADERS))[0] == 200
    async with sim.get("/_sim/stats") as r:
        stats = await r.json()
    assert stats["requests"] == {"groq/m": 3, "anthropic/x": 2}
    assert stats["total"] == 5


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "gremlins", "count": 1},
        {"kind": "rate_limit"},
        {"kind": "rate_limit", "count": 1, "colour": "red"},
        {"provider": "openai"},
    ],
)
async def test_bad_faults_are_rejected(sim: aiohttp.ClientSession, fault: dict[str, Any]) -> None:
    async with sim.post("/_sim/faults", json=fault) as response:
        assert response.status == 400
        assert (await response.json())["error"]["message"]


async def test_metrics_count_responses_by_status() -> None:
    port = free_port()
    async with running(SimulatorConfig(listen="127.0.0.1:0", metrics_listen=f"127.0.0.1:{port}")) as sim:
        await post(sim, "/mistral/v1/chat/completions", openai())
        await post(sim, "/mistral/v1/chat/completions", {"model": "m"})
        async with aiohttp.ClientSession() as plain, plain.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    assert 'bourse_simulator_responses_total{provider="mistral",status="200"} 1.0' in text
    assert 'bourse_simulator_responses_total{provider="mistral",status="400"} 1.0' in text
