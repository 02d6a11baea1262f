"""A routed stream as OpenAI chat.completion.chunk events (`data: {...}` lines, then `data: [DONE]`)."""

from __future__ import annotations

from typing import Any

import msgspec
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.chat_translation import ChunkWriter
from services.gateway.core.choices import summed_usage
from services.gateway.core.http_errors import error_body
from shared.errors import BourseError

_encode = msgspec.json.Encoder().encode
_DONE = b"data: [DONE]\n\n"


class ChatStreamWriter:
    """The event bytes of one chat completions stream; the usage chunk only when the client asked for it."""

    def __init__(self, chunks: ChunkWriter, include_usage: bool) -> None:
        self._chunks = chunks
        self._include_usage = include_usage

    def start(self) -> bytes:
        return b""

    def delta(self, delta: chat_pb2.ChatDelta) -> bytes:
        return b"data: " + _encode(self._chunks.delta(delta)) + b"\n\n"

    def finish(self, summary: router_pb2.RouteResponse) -> bytes:
        out = b"data: " + _encode(self._chunks.finish(summary)) + b"\n\n"
        if self._include_usage:
            out += b"data: " + _encode(self._chunks.usage(summary)) + b"\n\n"
        return out + _DONE

    def error(self, failure: BourseError, status: int) -> bytes:
        return b"data: " + _encode(error_body(failure, status)) + b"\n\n"


class ChoicesStreamWriter:
    """The event bytes of an `n > 1` stream: chunks of n routed streams, each under its choice index."""

    def __init__(self, chunks: list[ChunkWriter], include_usage: bool) -> None:
        self._chunks = chunks
        self._include_usage = include_usage

    @staticmethod
    def _line(chunk: dict[str, Any], index: int) -> bytes:
        chunk["choices"][0]["index"] = index
        return b"data: " + _encode(chunk) + b"\n\n"

    def delta(self, index: int, delta: chat_pb2.ChatDelta) -> bytes:
        return self._line(self._chunks[index].delta(delta), index)

    def finish(self, index: int, summary: router_pb2.RouteResponse) -> bytes:
        return self._line(self._chunks[index].finish(summary), index)

    def end(self, summaries: list[router_pb2.RouteResponse]) -> bytes:
        """After every choice finished: the usage of all of them (when asked for), then [DONE]."""
        if not self._include_usage:
            return _DONE
        chunk = self._chunks[0].usage(summaries[0])
        chunk["usage"] = summed_usage(summaries)
        return b"data: " + _encode(chunk) + b"\n\n" + _DONE

    def error(self, failure: BourseError, status: int) -> bytes:
        return b"data: " + _encode(error_body(failure, status)) + b"\n\n"
