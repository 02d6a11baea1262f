"""Neutral requests used across the adapter tests."""

from __future__ import annotations

import json

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.provider import Call
from tests.support.requests import chat

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string", "description": "City and state"}},
    "required": ["location"],
}


def text(value: str) -> list[chat_pb2.ContentPart]:
    return [chat_pb2.ContentPart(text=value)]


def user_chat(prompt: str = "Say hello.", **sampling: object) -> chat_pb2.ChatRequest:
    return chat(prompt, system="Be brief.", **sampling)


def tool_conversation() -> chat_pb2.ChatRequest:
    """System, user, assistant tool call, tool result, user again: every role and a preserved call id."""
    return chat_pb2.ChatRequest(
        messages=[
            chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, content=text("You are a weather bot.")),
            chat_pb2.Message(role=chat_pb2.ROLE_USER, content=text("Weather in Paris?")),
            chat_pb2.Message(
                role=chat_pb2.ROLE_ASSISTANT,
                tool_calls=[
                    chat_pb2.ToolCall(id="call_42", name="get_weather", arguments_json='{"location": "Paris"}')
                ],
            ),
            chat_pb2.Message(role=chat_pb2.ROLE_TOOL, tool_call_id="call_42", content=text('{"temperature_c": 21}')),
            chat_pb2.Message(role=chat_pb2.ROLE_USER, content=text("And tomorrow?")),
        ],
        tools=[
            chat_pb2.ToolDefinition(
                name="get_weather", description="Current weather", parameters_json_schema=json.dumps(WEATHER_SCHEMA)
            )
        ],
        tool_choice=chat_pb2.ToolChoice(mode=chat_pb2.TOOL_CHOICE_MODE_NAMED, name="get_weather"),
        sampling=chat_pb2.SamplingParams(temperature=0.2, top_p=0.9, max_tokens=64, stop=["END"]),
    )


def call(chat: chat_pb2.ChatRequest, provider: str = "openai", model: str = "m") -> Call:
    return Call(provider=provider, model=model, chat=chat)
