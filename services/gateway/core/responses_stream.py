"""A routed stream as the Responses API's typed events, each with its `sequence_number`.

`response.created`, `response.in_progress`; per output item `response.output_item.added`, then for a message
`response.content_part.added`, `response.output_text.delta`..., `response.output_text.done`,
`response.content_part.done`, or for a function call `response.function_call_arguments.delta`...,
`response.function_call_arguments.done`; then `response.output_item.done`; last `response.completed` (or
`response.incomplete`) with the whole response. An error after the stream started is an `error` event followed
by `response.failed`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.http_errors import error_body
from services.gateway.core.responses_api import complete, envelope, item_id, output_item, text_part
from services.gateway.core.responses_types import ResponsesRequest
from services.gateway.core.stream_blocks import BlockDelta, BlockEvent, BlockSequencer, BlockStart, completion_of
from shared.errors import BourseError

_encode = msgspec.json.Encoder().encode


class ResponseStreamWriter:
    """The event bytes of one Responses stream."""

    def __init__(self, request: ResponsesRequest, request_id: str, created_at: int, *, stored: bool = False) -> None:
        self._request_id = request_id
        self._response = envelope(request, request_id, created_at, request.model, stored=stored)
        self.answer: chat_pb2.ChatCompletion | None = None  # the whole answer, once the stream completed
        self._blocks = BlockSequencer()
        self._sequence = 0

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + _encode(data) + b"\n\n"

    def start(self) -> bytes:
        return self._event("response.created", response=self._response) + self._event(
            "response.in_progress", response=self._response
        )

    def delta(self, delta: chat_pb2.ChatDelta) -> bytes:
        return b"".join(self._render(event) for event in self._blocks.delta(delta))

    def finish(self, summary: router_pb2.RouteResponse) -> bytes:
        out = b"".join(self._render(event) for event in self._blocks.finish(summary.completion))
        self.answer = completion_of(self._blocks.blocks)
        response = complete(self._response, summary, self._blocks.blocks, self._request_id)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        return out + self._event(kind, response=response)

    def error(self, failure: BourseError, status: int) -> bytes:
        body = error_body(failure, status)["error"]
        self._response.update(status="failed", error={"code": body["code"], "message": body["message"]})
        return self._event("error", code=body["code"], message=body["message"], param=body["param"]) + self._event(
            "response.failed", response=self._response
        )

    def _render(self, event: BlockEvent) -> bytes:
        index = event.index
        if isinstance(event, BlockStart):
            item = output_item(event.block, self._request_id, index, "in_progress")
            out = self._event("response.output_item.added", output_index=index, item=item)
            if event.block.kind == "text":
                out += self._event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=text_part(""),
                )
            return out
        block = self._blocks.blocks[index]
        ident = item_id(block, self._request_id, index)
        if isinstance(event, BlockDelta):
            if event.kind == "text":
                return self._event(
                    "response.output_text.delta",
                    item_id=ident,
                    output_index=index,
                    content_index=0,
                    delta=event.text,
                    logprobs=[],
                )
            return self._event(
                "response.function_call_arguments.delta",
                item_id=ident,
                output_index=index,
                delta=event.text,
            )
        if block.kind == "text":
            out = self._event(
                "response.output_text.done",
                item_id=ident,
                output_index=index,
                content_index=0,
                text=block.text,
                logprobs=[],
            )
            out += self._event(
                "response.content_part.done",
                item_id=ident,
                output_index=index,
                content_index=0,
                part=text_part(block.text),
            )
        else:
            out = self._event(
                "response.function_call_arguments.done",
                item_id=ident,
                output_index=index,
                name=block.name,
                arguments=block.text,
            )
        done = output_item(block, self._request_id, index)
        return out + self._event("response.output_item.done", output_index=index, item=done)
