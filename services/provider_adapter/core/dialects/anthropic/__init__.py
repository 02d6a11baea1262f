"""The Anthropic messages dialect: request translation, response parsing and errors in messages.py, its stream
parser in stream.py."""

from __future__ import annotations

from collections.abc import Mapping

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.anthropic import messages
from services.provider_adapter.core.dialects.anthropic.stream import AnthropicStreamDecoder
from services.provider_adapter.core.provider import Call, StreamDecoder, WireRequest
from services.provider_adapter.core.quirks import Quirks
from shared.errors import UpstreamError


class AnthropicMessagesDialect:
    name = "anthropic_messages"
    simulator_prefix = ""

    def build_request(self, call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
        return messages.wire_request(call, quirks, stream=stream)

    def parse_response(self, body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
        return messages.parse(body, prompt_chars)

    def stream_decoder(self, prompt_chars: int) -> StreamDecoder:
        return AnthropicStreamDecoder(prompt_chars)

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return messages.error_from_response(status, headers, body)
