"""The simulator's answers have the shape of the providers' documented examples, and accept documented requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.provider_adapter.core.sse import SseParser
from services.simulator.config import SimulatorConfig
from tests.provider_adapter.fixtures import FIXTURES, fixture
from tests.simulator.conftest import running
from tests.simulator.requests import ANTHROPIC_HEADERS

# Fields the documented examples show that the simulator does not model (optional in the references).
OPTIONAL = {
    "annotations",
    "service_tier",
    "avgLogprobs",
    "promptTokensDetails",
    "thoughtsTokenCount",
    "audio_tokens",
    "safetyRatings",
    "index",
    "cachedContentTokenCount",
}


def missing_fields(documented: Any, simulated: Any, path: str = "$") -> list[str]:
    """Paths present in the documented example but absent (or of another JSON type) in the simulator's answer."""
    if isinstance(documented, dict):
        if not isinstance(simulated, dict):
            return [path]
        out = []
        for key, value in documented.items():
            if key in OPTIONAL:
                continue
            if key not in simulated:
                out.append(f"{path}.{key}")
            elif value is not None and simulated[key] is not None:
                out += missing_fields(value, simulated[key], f"{path}.{key}")
        return out
    if isinstance(documented, list):
        if not isinstance(simulated, list):
            return [path]
        return missing_fields(documented[0], simulated[0], f"{path}[0]") if documented and simulated else []
    same = type(documented) is type(simulated) or {type(documented), type(simulated)} <= {int, float}
    return [] if same else [path]


@pytest.fixture(scope="module")
async def sim() -> AsyncIterator[aiohttp.ClientSession]:
    async with running(SimulatorConfig(listen="127.0.0.1:0")) as session:
        yield session


WEATHER_TOOL = {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
CASES = [
    (
        "openai",
        "chat_response.json",
        "/openai/v1/chat/completions",
        {
            "model": "gpt-4.1",
            "messages": [
                {"role": "developer", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Hello!"},
            ],
        },
    ),
    (
        "openai",
        "chat_tool_call_response.json",
        "/openai/v1/chat/completions",
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "What's the weather like in Boston today?"}],
            "tools": [{"type": "function", "function": {"name": "get_current_weather", "parameters": WEATHER_TOOL}}],
            "tool_choice": "auto",
        },
    ),
    (
        "anthropic",
        "messages_response.json",
        "/anthropic/v1/messages",
        {
            "model": "claude-sonnet-4-20250514",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Hello, Claude"}],
        },
    ),
    (
        "anthropic",
        "messages_tool_use_response.json",
        "/anthropic/v1/messages",
        {
            "model": "claude-opus-4-1",
            "max_tokens": 1024,
            "tools": [{"name": "get_weather", "description": "Get the current weather", "input_schema": WEATHER_TOOL}],
            "messages": [{"role": "user", "content": "What is the weather like in San Francisco? Use get_weather."}],
        },
    ),
    (
        "gemini",
        "generate_response.json",
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        {"contents": [{"parts": [{"text": "Explain how AI works in a few words"}]}]},
    ),
    (
        "gemini",
        "function_call_response.json",
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        {
            "contents": [{"role": "user", "parts": [{"text": "Which theaters in Mountain View show Barbie?"}]}],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "find_theaters",
                            "parameters": {
                                "type": "object",
                                "properties": {"location": {"type": "string"}, "movie": {"type": "string"}},
                            },
                        }
                    ]
                }
            ],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        },
    ),
]


@pytest.mark.parametrize(("dialect", "name", "path", "request_body"), CASES)
async def test_answers_have_the_documented_shape(
    sim: aiohttp.ClientSession, dialect: str, name: str, path: str, request_body: dict[str, Any]
) -> None:
    headers = ANTHROPIC_HEADERS if dialect == "anthropic" else None
    async with sim.post(path, json=request_body, headers=headers) as response:
        assert response.status == 200, await response.text()
        simulated = await response.json()
    assert missing_fields(fixture(dialect, name)["body"], simulated) == []


def events(data: bytes) -> list[tuple[str, str]]:
    parser = SseParser()
    return [(e.event, e.data) for e in parser.feed(data) + parser.close()]


@pytest.mark.parametrize(
    ("dialect", "name", "path", "request_body"),
    [
        (
            "openai",
            "chat_stream.sse",
            "/openai/v1/chat/completions",
            {
                "model": "gpt-4o-mini",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Hello!"}],
            },
        ),
        (
            "anthropic",
            "messages_stream.sse",
            "/anthropic/v1/messages",
            {
                "model": "claude-opus-4",
                "max_tokens": 256,
                "stream": True,
                "messages": [{"role": "user", "content": "Hello"}],
            },
        ),
        (
            "gemini",
            "stream.sse",
            "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            {"contents": [{"parts": [{"text": "Why is the sky blue?"}]}]},
        ),
    ],
)
async def test_streams_follow_the_documented_event_sequence(
    sim: aiohttp.ClientSession, dialect: str, name: str, path: str, request_body: dict[str, Any]
) -> None:
    import json

    documented = events((FIXTURES / dialect / name).read_bytes())
    headers = ANTHROPIC_HEADERS if dialect == "anthropic" else None
    async with sim.post(path, json=request_body, headers=headers) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        simulated = events(await response.read())

    # Same event names in the same order, with repeated deltas collapsed.
    def names(seq: list[tuple[str, str]]) -> list[str]:
        out: list[str] = []
        for event, _ in seq:
            if not out or out[-1] != event:
                out.append(event)
        return out

    assert names(simulated) == names(documented)
    assert simulated[-1][1] == documented[-1][1] if dialect == "openai" else True  # [DONE]
    first_doc, first_sim = json.loads(documented[0][1]), json.loads(simulated[0][1])
    assert missing_fields(first_doc, first_sim) == []
    last_doc = json.loads(documented[-2 if dialect == "openai" else -1][1])
    last_sim = json.loads(simulated[-2 if dialect == "openai" else -1][1])
    assert missing_fields(last_doc, last_sim) == []
