"""OpenAI chat-completions wire vocabulary <-> Bourse's chat protos, shared by both sides that speak it.

The gateway reads OpenAI requests and writes OpenAI responses; the provider adapter writes OpenAI requests and
reads OpenAI responses. Roles, tool-choice modes, finish reasons and the usage object are the same words in both
directions, so they are defined once here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bourse.common.v1 import chat_pb2

ROLE_TO_WIRE: Mapping[int, str] = {
    chat_pb2.ROLE_SYSTEM: "system",
    chat_pb2.ROLE_USER: "user",
    chat_pb2.ROLE_ASSISTANT: "assistant",
    chat_pb2.ROLE_TOOL: "tool",
}
# "developer" is OpenAI's newer name for the system role.
ROLE_FROM_WIRE: Mapping[str, chat_pb2.Role] = {
    "system": chat_pb2.ROLE_SYSTEM,
    "developer": chat_pb2.ROLE_SYSTEM,
    "user": chat_pb2.ROLE_USER,
    "assistant": chat_pb2.ROLE_ASSISTANT,
    "tool": chat_pb2.ROLE_TOOL,
}

TOOL_CHOICE_FROM_WIRE: Mapping[str, chat_pb2.ToolChoiceMode] = {
    "none": chat_pb2.TOOL_CHOICE_MODE_NONE,
    "auto": chat_pb2.TOOL_CHOICE_MODE_AUTO,
    "required": chat_pb2.TOOL_CHOICE_MODE_REQUIRED,
}

# "function_call" is the legacy name some OpenAI-compatible providers still send.
FINISH_FROM_WIRE: Mapping[str, chat_pb2.FinishReason] = {
    "stop": chat_pb2.FINISH_REASON_STOP,
    "length": chat_pb2.FINISH_REASON_LENGTH,
    "tool_calls": chat_pb2.FINISH_REASON_TOOL_CALLS,
    "function_call": chat_pb2.FINISH_REASON_TOOL_CALLS,
    "content_filter": chat_pb2.FINISH_REASON_CONTENT_FILTER,
}
FINISH_TO_WIRE: Mapping[int, str] = {
    chat_pb2.FINISH_REASON_UNSPECIFIED: "stop",
    chat_pb2.FINISH_REASON_STOP: "stop",
    chat_pb2.FINISH_REASON_LENGTH: "length",
    chat_pb2.FINISH_REASON_TOOL_CALLS: "tool_calls",
    chat_pb2.FINISH_REASON_CONTENT_FILTER: "content_filter",
}


def usage_to_wire(usage: chat_pb2.Usage) -> dict[str, Any]:
    """OpenAI's usage object, with cached prompt tokens and reasoning tokens in their detail objects."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_prompt_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def usage_from_wire(raw: Any) -> chat_pb2.Usage | None:
    """OpenAI usage incl. prompt_tokens_details.cached_tokens and completion_tokens_details.reasoning_tokens;
    None when the object carries no usage.

    DeepSeek reports cache hits as prompt_cache_hit_tokens; both forms are read.
    """
    if not isinstance(raw, dict) or "prompt_tokens" not in raw:
        return None
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    cached = prompt_details.get("cached_tokens") or raw.get("prompt_cache_hit_tokens") or 0
    return chat_pb2.Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        cached_prompt_tokens=int(cached),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )
