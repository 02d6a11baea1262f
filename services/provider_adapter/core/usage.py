"""Token usage helpers: the estimate used when a provider reports none (marked `estimated`)."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

# Roughly four characters per token for English text with BPE tokenizers; only used when usage is missing.
CHARS_PER_TOKEN = 4
# Per-message framing tokens that chat templates add (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4


def prompt_chars(chat: chat_pb2.ChatRequest) -> int:
    total = 0
    for message in chat.messages:
        total += CHARS_PER_TOKEN * MESSAGE_OVERHEAD_TOKENS
        for part in message.content:
            total += len(part.text)
        for call in message.tool_calls:
            total += len(call.name) + len(call.arguments_json)
    for tool in chat.tools:
        total += len(tool.name) + len(tool.description) + len(tool.parameters_json_schema)
    return total


def tokens_for_chars(chars: int) -> int:
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_usage(prompt_chars_count: int, completion: chat_pb2.ChatCompletion) -> chat_pb2.Usage:
    """Estimated usage for a completion whose provider reported none."""
    out_chars = len(completion.content) + sum(len(c.name) + len(c.arguments_json) for c in completion.tool_calls)
    return chat_pb2.Usage(
        prompt_tokens=tokens_for_chars(prompt_chars_count),
        completion_tokens=tokens_for_chars(out_chars),
        estimated=True,
    )


def finalize_usage(
    completion: chat_pb2.ChatCompletion, usage: chat_pb2.Usage | None, prompt_chars_count: int, out_chars: int
) -> None:
    """Attach the reported usage, or an estimate marked as such when the provider sent none."""
    if usage is not None:
        completion.usage.CopyFrom(usage)
        return
    completion.usage.CopyFrom(
        chat_pb2.Usage(
            prompt_tokens=tokens_for_chars(prompt_chars_count),
            completion_tokens=tokens_for_chars(out_chars),
            estimated=True,
        )
    )
