"""Feeding SSE bytes, in pieces of a given size, through a dialect's stream decoder."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.provider import StreamDecoder
from services.provider_adapter.core.sse import SseParser


def decode(decoder: StreamDecoder, data: bytes, piece: int) -> list[chat_pb2.ChatDelta]:
    parser = SseParser()
    deltas: list[chat_pb2.ChatDelta] = []
    for start in range(0, len(data), piece):
        for event in parser.feed(data[start : start + piece]):
            deltas += decoder.on_event(event.event, event.data)
    for event in parser.close():
        deltas += decoder.on_event(event.event, event.data)
    decoder.close()
    return deltas
