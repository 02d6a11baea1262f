"""Chat Completions streaming: `data: {chunk}` events, an optional usage chunk, then `data: [DONE]`."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.openai.chat import FINISH_REASONS, error_from_body, parse_usage
from services.provider_adapter.core.stream_assembly import StreamAssembly
from services.provider_adapter.core.wire_json import decode_body
from shared.errors import Reason, UpstreamError


class OpenAIStreamDecoder:
    def __init__(self, prompt_chars: int) -> None:
        self._state = StreamAssembly(prompt_chars)

    @property
    def finished(self) -> bool:
        return self._state.finished

    def on_event(self, event: str, data: str) -> list[chat_pb2.ChatDelta]:
        if data == "[DONE]":
            self._state.finished = True
            return []
        chunk = decode_body(data)
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk:
            raise error_from_body(0, {}, chunk)
        state = self._state
        if not state.response_id and chunk.get("id"):
            state.response_id = str(chunk["id"])
        usage = parse_usage(chunk.get("usage"))
        if usage is not None:
            state.usage = usage
        deltas: list[chat_pb2.ChatDelta] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            raw = choice.get("delta") or {}
            delta = chat_pb2.ChatDelta()
            text = raw.get("content")
            if text:
                delta.content = text
                state.out_chars += len(text)
            for fragment in raw.get("tool_calls") or ():
                function = fragment.get("function") or {}
                delta.tool_calls.append(
                    state.add_tool_fragment(
                        int(fragment.get("index", 0)),
                        fragment.get("id") or "",
                        function.get("name") or "",
                        function.get("arguments") or "",
                    )
                )
            reason = choice.get("finish_reason")
            if reason:
                state.finish_reason = FINISH_REASONS.get(reason, chat_pb2.FINISH_REASON_UNSPECIFIED)
            if delta.content or delta.tool_calls:
                deltas.append(delta)
        return deltas

    def close(self) -> None:
        if not self._state.finished:
            raise UpstreamError("stream ended before the provider finished it", reason=Reason.CONNECTION_DROPPED)

    def result(self) -> tuple[chat_pb2.ChatCompletion, str]:
        return self._state.result()
