"""The OpenAI chat completions dialect (also every OpenAI-compatible provider): request translation, response
parsing and errors in chat.py, its stream parser in stream.py."""

from __future__ import annotations

from collections.abc import Mapping

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.openai import chat
from services.provider_adapter.core.dialects.openai.stream import OpenAIStreamDecoder
from services.provider_adapter.core.provider import Call, StreamDecoder, WireRequest
from services.provider_adapter.core.quirks import Quirks
from shared.errors import UpstreamError


class OpenAIChatDialect:
    name = "openai_chat"
    simulator_prefix = "/v1"

    def build_request(self, call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
        return chat.wire_request(call, quirks, stream=stream)

    def parse_response(self, body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
        return chat.parse(body, prompt_chars)

    def stream_decoder(self, prompt_chars: int) -> StreamDecoder:
        return OpenAIStreamDecoder(prompt_chars)

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return chat.error_from_response(status, headers, body)
