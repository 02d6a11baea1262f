"""What a stream leaves behind once its deltas went out: tool calls, finish reason, usage, response id."""

from __future__ import annotations

from dataclasses import dataclass, field

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.usage import finalize_usage


@dataclass(slots=True)
class StreamAssembly:
    prompt_chars: int
    response_id: str = ""
    finish_reason: chat_pb2.FinishReason = chat_pb2.FINISH_REASON_UNSPECIFIED
    usage: chat_pb2.Usage | None = None
    out_chars: int = 0
    tool_calls: dict[int, chat_pb2.ToolCall] = field(default_factory=dict)
    finished: bool = False

    def add_tool_fragment(self, index: int, call_id: str, name: str, fragment: str) -> chat_pb2.ToolCallDelta:
        call = self.tool_calls.get(index)
        if call is None:
            call = self.tool_calls[index] = chat_pb2.ToolCall()
        if call_id:
            call.id = call_id
        if name:
            call.name = name
        call.arguments_json += fragment
        self.out_chars += len(fragment)
        return chat_pb2.ToolCallDelta(index=index, id=call_id, name=name, arguments_fragment=fragment)

    def result(self) -> tuple[chat_pb2.ChatCompletion, str]:
        completion = chat_pb2.ChatCompletion(finish_reason=self.finish_reason)
        for index in sorted(self.tool_calls):
            completion.tool_calls.append(self.tool_calls[index])
        if completion.tool_calls and self.finish_reason == chat_pb2.FINISH_REASON_UNSPECIFIED:
            completion.finish_reason = chat_pb2.FINISH_REASON_TOOL_CALLS
        finalize_usage(completion, self.usage, self.prompt_chars, self.out_chars)
        return completion, self.response_id
