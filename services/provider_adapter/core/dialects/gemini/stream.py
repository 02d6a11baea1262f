"""Gemini streamGenerateContent?alt=sse: every event is a whole GenerateContentResponse holding the next parts.

There is no end marker: the stream is complete when the connection closes after a candidate carried a
finishReason; usageMetadata of the last event is the total.
"""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.dialects.gemini.generate import candidate_parts, error_from_body, parse_usage
from services.provider_adapter.core.stream_assembly import StreamAssembly
from services.provider_adapter.core.wire_json import decode_body
from shared.errors import Reason, UpstreamError


class GeminiStreamDecoder:
    def __init__(self, prompt_chars: int) -> None:
        self._state = StreamAssembly(prompt_chars)
        self._saw_finish = False
        self._scratch = chat_pb2.ChatCompletion()

    @property
    def finished(self) -> bool:
        return self._state.finished

    def on_event(self, event: str, data: str) -> list[chat_pb2.ChatDelta]:
        payload = decode_body(data)
        if not isinstance(payload, dict):
            return []
        if "error" in payload:
            raise error_from_body(0, {}, payload)
        state = self._state
        if not state.response_id and payload.get("responseId"):
            state.response_id = str(payload["responseId"])
        usage = parse_usage(payload.get("usageMetadata"))
        if usage is not None:
            state.usage = usage
        text, calls = candidate_parts(payload, self._scratch, len(state.tool_calls))
        if self._scratch.finish_reason != chat_pb2.FINISH_REASON_UNSPECIFIED:
            state.finish_reason = self._scratch.finish_reason
            self._saw_finish = True
        delta = chat_pb2.ChatDelta(content=text)
        state.out_chars += len(text)
        for call in calls:
            delta.tool_calls.append(
                state.add_tool_fragment(len(state.tool_calls), call.id, call.name, call.arguments_json)
            )
        return [delta] if text or calls else []

    def close(self) -> None:
        if not self._saw_finish:
            raise UpstreamError("stream ended before the provider finished it", reason=Reason.CONNECTION_DROPPED)
        if self._state.tool_calls and self._state.finish_reason == chat_pb2.FINISH_REASON_STOP:
            self._state.finish_reason = chat_pb2.FINISH_REASON_TOOL_CALLS
        self._state.finished = True

    def result(self) -> tuple[chat_pb2.ChatCompletion, str]:
        return self._state.result()
