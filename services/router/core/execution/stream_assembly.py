"""Assembles streamed deltas into one completion (for telemetry, the cache and validation)."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2


class StreamAssembler:
    """Collects content and tool-call fragments (by index) in arrival order."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._calls: dict[int, list[str]] = {}
        self._ids: dict[int, str] = {}
        self._names: dict[int, str] = {}
        self.deltas = 0

    def add(self, delta: chat_pb2.ChatDelta) -> None:
        self.deltas += 1
        if delta.content:
            self._content.append(delta.content)
        for call in delta.tool_calls:
            self._calls.setdefault(call.index, []).append(call.arguments_fragment)
            if call.id:
                self._ids[call.index] = call.id
            if call.name:
                self._names[call.index] = call.name

    @property
    def content(self) -> str:
        return "".join(self._content)

    def tool_calls(self) -> list[chat_pb2.ToolCall]:
        return [
            chat_pb2.ToolCall(id=self._ids.get(i, ""), name=self._names.get(i, ""), arguments_json="".join(parts))
            for i, parts in sorted(self._calls.items())
        ]

    def completion(self, final: chat_pb2.ChatCompletion) -> chat_pb2.ChatCompletion:
        """The whole answer: assembled text and calls, usage and finish reason from the final message."""
        calls = list(final.tool_calls) or self.tool_calls()
        return chat_pb2.ChatCompletion(
            content=self.content, tool_calls=calls, finish_reason=final.finish_reason, usage=final.usage
        )
