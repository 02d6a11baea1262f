"""Which neutral request features a chat request uses, and the refusal when a provider cannot honour one."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from shared.errors import Reason, UpstreamError

_RF = chat_pb2.ResponseFormatType
_TC = chat_pb2.ToolChoiceMode


def used_features(chat: chat_pb2.ChatRequest) -> set[str]:
    """The keys of quirks.FEATURES this request relies on."""
    used: set[str] = set()
    _tool_features(chat, used)
    _sampling_features(chat, used)
    _content_features(chat, used)
    return used


def _tool_features(chat: chat_pb2.ChatRequest, used: set[str]) -> None:
    if chat.tools:
        used.add("tools")
        if any(tool.strict for tool in chat.tools):
            used.add("tools.strict")
    mode = chat.tool_choice.mode
    if mode == _TC.TOOL_CHOICE_MODE_REQUIRED:
        used.add("tool_choice.required")
    elif mode == _TC.TOOL_CHOICE_MODE_NAMED:
        used.add("tool_choice.named")
    kind = chat.response_format.type
    if kind == _RF.RESPONSE_FORMAT_TYPE_JSON_OBJECT:
        used.add("response_format.json_object")
    elif kind == _RF.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        used.add("response_format.json_schema")


def _sampling_features(chat: chat_pb2.ChatRequest, used: set[str]) -> None:
    sampling = chat.sampling
    if sampling.HasField("seed"):
        used.add("sampling.seed")
    if sampling.stop:
        used.add("sampling.stop")
    if sampling.HasField("top_p"):
        used.add("sampling.top_p")


def _content_features(chat: chat_pb2.ChatRequest, used: set[str]) -> None:
    for message in chat.messages:
        if message.name and message.role != chat_pb2.ROLE_TOOL:
            used.add("message.name")
        for part in message.content:
            if part.WhichOneof("part") == "image":
                used.add("content.image")
                if part.image.url and not part.image.url.startswith("data:"):
                    used.add("content.image_url")


def ensure_supported(
    chat: chat_pb2.ChatRequest, unsupported: frozenset[str], *, provider: str, model: str, max_temperature: float
) -> None:
    """Raise UNSUPPORTED_FIELD naming the first feature the provider cannot honour (so the router can skip it)."""
    if unsupported:
        refused = sorted(used_features(chat) & unsupported)
        if refused:
            raise UpstreamError(
                f"{provider} cannot honour {refused[0]} (model {model})",
                reason=Reason.UNSUPPORTED_FIELD,
                metadata={"provider": provider, "model": model, "field": refused[0]},
            )
    if chat.sampling.HasField("temperature") and chat.sampling.temperature > max_temperature:
        raise UpstreamError(
            f"{provider} accepts temperature up to {max_temperature}, got {chat.sampling.temperature}",
            reason=Reason.UNSUPPORTED_FIELD,
            metadata={"provider": provider, "model": model, "field": "sampling.temperature"},
        )
