"""Anthropic Messages streaming: message_start, content_block_start/delta/stop, message_delta, message_stop.

`ping` events are keep-alives; an `error` event may arrive mid-stream (for example overloaded_error).
"""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.anthropic.messages import STOP_REASONS, error_from_body, parse_usage
from services.provider_adapter.core.stream_assembly import StreamAssembly
from services.provider_adapter.core.wire_json import decode_body
from shared.errors import Reason, UpstreamError


class AnthropicStreamDecoder:
    def __init__(self, prompt_chars: int) -> None:
        self._state = StreamAssembly(prompt_chars)
        # Content block index -> tool call index, for input_json_delta fragments.
        self._tool_blocks: dict[int, int] = {}
        self._usage: chat_pb2.Usage | None = None

    @property
    def finished(self) -> bool:
        return self._state.finished

    def on_event(self, event: str, data: str) -> list[chat_pb2.ChatDelta]:
        payload = decode_body(data)
        if not isinstance(payload, dict):
            return []
        kind = payload.get("type", event)
        state = self._state
        if kind == "content_block_delta":
            return self._block_delta(payload)
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "message_start":
            message = payload.get("message") or {}
            state.response_id = str(message.get("id") or "")
            self._usage = parse_usage(message.get("usage"))
        elif kind == "message_delta":
            reason = (payload.get("delta") or {}).get("stop_reason")
            if reason:
                state.finish_reason = STOP_REASONS.get(reason, chat_pb2.FINISH_REASON_UNSPECIFIED)
            self._merge_usage(payload.get("usage") or {})
        elif kind == "message_stop":
            state.usage = self._usage
            state.finished = True
        elif kind == "error":
            raise error_from_body(0, {}, payload)
        return []

    def _block_start(self, payload: dict[str, object]) -> list[chat_pb2.ChatDelta]:
        block = payload.get("content_block")
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            return []
        tool_index = len(self._tool_blocks)
        self._tool_blocks[int(str(payload.get("index", 0)))] = tool_index
        fragment = self._state.add_tool_fragment(
            tool_index, str(block.get("id") or ""), str(block.get("name") or ""), ""
        )
        return [chat_pb2.ChatDelta(tool_calls=[fragment])]

    def _block_delta(self, payload: dict[str, object]) -> list[chat_pb2.ChatDelta]:
        delta = payload.get("delta")
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text") or "")
            self._state.out_chars += len(text)
            return [chat_pb2.ChatDelta(content=text)] if text else []
        if kind == "input_json_delta":
            tool_index = self._tool_blocks.get(int(str(payload.get("index", 0))), 0)
            fragment = self._state.add_tool_fragment(tool_index, "", "", str(delta.get("partial_json") or ""))
            return [chat_pb2.ChatDelta(tool_calls=[fragment])]
        return []  # thinking_delta / signature_delta: hidden reasoning, billed in output_tokens

    def _merge_usage(self, raw: dict[str, object]) -> None:
        """message_delta carries cumulative output_tokens (and, on newer models, the input counts)."""
        usage = self._usage or chat_pb2.Usage()
        if "output_tokens" in raw:
            usage.completion_tokens = int(str(raw["output_tokens"]))
        if "input_tokens" in raw:
            updated = parse_usage(raw)
            if updated is not None:
                updated.completion_tokens = usage.completion_tokens
                usage = updated
        self._usage = usage

    def close(self) -> None:
        if not self._state.finished:
            raise UpstreamError("stream ended before the provider finished it", reason=Reason.CONNECTION_DROPPED)

    def result(self) -> tuple[chat_pb2.ChatCompletion, str]:
        return self._state.result()
