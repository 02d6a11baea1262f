"""The dialect registry: wire dialect name -> Dialect. Providers pick theirs by name in the registry data."""

from __future__ import annotations

from collections.abc import Mapping

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core import anthropic_messages, gemini_generate, openai_chat
from services.provider_adapter.core.anthropic_stream import AnthropicStreamDecoder
from services.provider_adapter.core.gemini_stream import GeminiStreamDecoder
from services.provider_adapter.core.openai_stream import OpenAIStreamDecoder
from services.provider_adapter.core.provider import Call, Dialect, StreamDecoder, WireRequest
from services.provider_adapter.core.quirks import Quirks
from shared.errors import UpstreamError


class OpenAIChatDialect:
    name = "openai_chat"
    simulator_prefix = "/v1"

    def build_request(self, call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
        return openai_chat.wire_request(call, quirks, stream=stream)

    def parse_response(self, body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
        return openai_chat.parse(body, prompt_chars)

    def stream_decoder(self, prompt_chars: int) -> StreamDecoder:
        return OpenAIStreamDecoder(prompt_chars)

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return openai_chat.error_from_response(status, headers, body)


class AnthropicMessagesDialect:
    name = "anthropic_messages"
    simulator_prefix = ""

    def build_request(self, call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
        return anthropic_messages.wire_request(call, quirks, stream=stream)

    def parse_response(self, body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
        return anthropic_messages.parse(body, prompt_chars)

    def stream_decoder(self, prompt_chars: int) -> StreamDecoder:
        return AnthropicStreamDecoder(prompt_chars)

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return anthropic_messages.error_from_response(status, headers, body)


class GeminiGenerateDialect:
    name = "gemini_generate"
    simulator_prefix = ""

    def build_request(self, call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
        return gemini_generate.wire_request(call, quirks, stream=stream)

    def parse_response(self, body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
        return gemini_generate.parse(body, prompt_chars)

    def stream_decoder(self, prompt_chars: int) -> StreamDecoder:
        return GeminiStreamDecoder(prompt_chars)

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return gemini_generate.error_from_response(status, headers, body)


def dialect_registry() -> dict[str, Dialect]:
    """Every dialect the adapter speaks, by the name used in the provider registry."""
    dialects: list[Dialect] = [OpenAIChatDialect(), AnthropicMessagesDialect(), GeminiGenerateDialect()]
    return {dialect.name: dialect for dialect in dialects}
