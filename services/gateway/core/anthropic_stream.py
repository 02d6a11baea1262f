"""A routed stream as Anthropic's server-sent events.

`message_start`, `ping`, then per content block `content_block_start`, `content_block_delta` (`text_delta` or a
tool_use's `input_json_delta`) and `content_block_stop`, then `message_delta` (stop reason and usage, with Bourse's
summary beside them) and `message_stop`. An error after the stream started is Anthropic's `error` event.
"""

from __future__ import annotations

from typing import Any

import msgspec
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.anthropic_messages import STOP_REASONS, error_body, message_id, usage
from services.gateway.core.chat_translation import route_summary
from services.gateway.core.stream_blocks import BlockDelta, BlockEvent, BlockSequencer, BlockStart
from shared.errors import BourseError

_encode = msgspec.json.Encoder().encode


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + _encode(data) + b"\n\n"


class MessageStreamWriter:
    """The event bytes of one Anthropic message stream."""

    def __init__(self, request_id: str, model: str) -> None:
        self._id = message_id(request_id)
        self._model = model
        self._blocks = BlockSequencer()

    def start(self) -> bytes:
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return sse("message_start", {"type": "message_start", "message": message}) + sse("ping", {"type": "ping"})

    def delta(self, delta: chat_pb2.ChatDelta) -> bytes:
        return b"".join(self._render(event) for event in self._blocks.delta(delta))

    def finish(self, summary: router_pb2.RouteResponse) -> bytes:
        completion = summary.completion
        out = b"".join(self._render(event) for event in self._blocks.finish(completion))
        # Input tokens are known only now: message_delta's usage carries them (the SDK takes them from there).
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_REASONS.get(completion.finish_reason, "end_turn"), "stop_sequence": None},
            "usage": usage(completion),
            "bourse": route_summary(summary),
        }
        return out + sse("message_delta", delta) + sse("message_stop", {"type": "message_stop"})

    def error(self, failure: BourseError, status: int) -> bytes:
        return sse("error", error_body(failure, status))

    def _render(self, event: BlockEvent) -> bytes:
        if isinstance(event, BlockStart):
            block = event.block
            start: dict[str, Any] = (
                {"type": "text", "text": ""}
                if block.kind == "text"
                else {"type": "tool_use", "id": block.call_id, "name": block.name, "input": {}}
            )
            data = {"type": "content_block_start", "index": event.index, "content_block": start}
            return sse("content_block_start", data)
        if isinstance(event, BlockDelta):
            delta = (
                {"type": "text_delta", "text": event.text}
                if event.kind == "text"
                else {"type": "input_json_delta", "partial_json": event.text}
            )
            return sse("content_block_delta", {"type": "content_block_delta", "index": event.index, "delta": delta})
        return sse("content_block_stop", {"type": "content_block_stop", "index": event.index})
