"""A routed answer as a list of output blocks (text, tool call), built whole or from the router's stream deltas.

The Anthropic Messages and OpenAI Responses APIs frame an answer as numbered blocks (content blocks, output items)
that open, grow and close; chat completions do not. This module does the framing once: each wire format only
renders the block events below in its own shape.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from bourse.common.v1 import chat_pb2

BlockKind = Literal["text", "tool"]


class Block(msgspec.Struct):
    """One output block: text, or a tool call whose `text` holds the JSON arguments."""

    kind: BlockKind
    text: str = ""
    call_id: str = ""
    name: str = ""


class BlockStart(msgspec.Struct, frozen=True):
    index: int
    block: Block


class BlockDelta(msgspec.Struct, frozen=True):
    index: int
    kind: BlockKind
    text: str


class BlockStop(msgspec.Struct, frozen=True):
    index: int
    block: Block


BlockEvent = BlockStart | BlockDelta | BlockStop


def call_id_of(call_id: str, index: int) -> str:
    """The provider's tool call id; a provider that sent none gets a stable one, since both APIs require it."""
    return call_id or f"call_{index}"


def blocks_of(completion: chat_pb2.ChatCompletion) -> list[Block]:
    """The blocks of a whole answer: its text (if any), then one block per tool call."""
    blocks = [Block("text", completion.content)] if completion.content else []
    for i, call in enumerate(completion.tool_calls):
        blocks.append(Block("tool", call.arguments_json, call_id_of(call.id, i), call.name))
    return blocks


def completion_of(blocks: list[Block]) -> chat_pb2.ChatCompletion:
    """The answer a stream delivered, whole again (the router's summary of a stream need not repeat its text)."""
    completion = chat_pb2.ChatCompletion(content="".join(b.text for b in blocks if b.kind == "text"))
    for block in blocks:
        if block.kind == "tool":
            completion.tool_calls.add(id=block.call_id, name=block.name, arguments_json=block.text)
    return completion


class BlockSequencer:
    """Turns the router's deltas into block events: at most one block is open, a change of kind closes it."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._open: int | None = None
        self._tool_blocks: dict[int, int] = {}  # the delta's tool call index -> block index

    def delta(self, delta: chat_pb2.ChatDelta) -> list[BlockEvent]:
        events: list[BlockEvent] = []
        if delta.content:
            if self._open is None or self.blocks[self._open].kind != "text":
                events += self._start(Block("text"))
            events.append(self._grow(self._open, delta.content))  # type: ignore[arg-type]
        for call in delta.tool_calls:
            index = self._tool_blocks.get(call.index)
            if index is None:
                events += self._start(Block("tool", call_id=call_id_of(call.id, call.index), name=call.name))
                index = self._tool_blocks[call.index] = len(self.blocks) - 1
            elif call.name and not self.blocks[index].name:
                self.blocks[index].name = call.name
            if call.arguments_fragment:
                events.append(self._grow(index, call.arguments_fragment))
        return events

    def finish(self, completion: chat_pb2.ChatCompletion) -> list[BlockEvent]:
        """Close the stream; an answer that came whole (a cache hit sends no deltas) is delivered here."""
        events: list[BlockEvent] = []
        has_text = any(block.kind == "text" for block in self.blocks)
        for block in blocks_of(completion):
            if (block.kind == "text" and has_text) or (block.kind == "tool" and self._tool_blocks):
                continue
            events += self._start(Block(block.kind, call_id=block.call_id, name=block.name))
            events.append(self._grow(len(self.blocks) - 1, block.text))
        events += self._close()
        return events

    def _start(self, block: Block) -> list[BlockEvent]:
        events = self._close()
        self.blocks.append(block)
        self._open = len(self.blocks) - 1
        events.append(BlockStart(self._open, block))
        return events

    def _grow(self, index: int, text: str) -> BlockDelta:
        block = self.blocks[index]
        block.text += text
        return BlockDelta(index, block.kind, text)

    def _close(self) -> list[BlockEvent]:
        if self._open is None:
            return []
        index, self._open = self._open, None
        return [BlockStop(index, self.blocks[index])]
