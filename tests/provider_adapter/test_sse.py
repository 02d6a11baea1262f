"""The SSE parser: events split anywhere, every line ending, comments, multi-line data, split UTF-8."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.provider_adapter.core.sse import SseEvent, SseParser
from tests.provider_adapter.fixtures import sse_bytes

STREAM = (
    ": keep-alive comment\r\n"
    "event: message_start\r\n"
    'data: {"a": 1}\r\n'
    "\r\n"
    "data: first line\n"
    "data: second line\n"
    "\n"
    "data:no-space\r"
    "\r"
    "id: 7\n"
    "retry: 1000\n"
    'data: {"text": "héllo 😊"}\n'
    "\n"
).encode()
EXPECTED = [
    SseEvent("message_start", '{"a": 1}'),
    SseEvent("message", "first line\nsecond line"),
    SseEvent("message", "no-space"),
    SseEvent("message", '{"text": "héllo 😊"}'),
]


def feed_in_pieces(data: bytes, size: int) -> list[SseEvent]:
    parser = SseParser()
    events: list[SseEvent] = []
    for start in range(0, len(data), size):
        events += parser.feed(data[start : start + size])
    return events + parser.close()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 1000])
def test_events_survive_any_split(size: int) -> None:
    assert feed_in_pieces(STREAM, size) == EXPECTED


def test_every_split_point_of_a_documented_stream() -> None:
    data = sse_bytes("anthropic", "messages_stream.sse")
    whole = feed_in_pieces(data, len(data))
    assert [e.event for e in whole][:3] == ["message_start", "content_block_start", "ping"]
    for cut in range(1, len(data)):
        parser = SseParser()
        assert parser.feed(data[:cut]) + parser.feed(data[cut:]) + parser.close() == whole


def test_last_event_without_blank_line_is_delivered_at_close() -> None:
    parser = SseParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.close() == [SseEvent("message", "[DONE]")]


def test_comment_only_stream_yields_nothing() -> None:
    assert feed_in_pieces(b": OPENROUTER PROCESSING\n\n: ping\n\n", 4) == []


_text = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30)


@given(
    events=st.lists(
        st.tuples(st.sampled_from(["", "message_start", "ping"]), st.lists(_text, min_size=1, max_size=3)), max_size=6
    ),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=1, max_value=400), max_size=8),
)
def test_any_stream_any_cuts(events: list[tuple[str, list[str]]], newline: str, cuts: list[int]) -> None:
    wire = ""
    for name, lines in events:
        if name:
            wire += f"event: {name}{newline}"
        wire += "".join(f"data: {line}{newline}" for line in lines) + newline
    data = wire.encode()
    parser = SseParser()
    parsed: list[SseEvent] = []
    start = 0
    for cut in sorted(set(cuts)):
        parsed += parser.feed(data[start:cut])
        start = max(start, cut)
    parsed += parser.feed(data[start:]) + parser.close()
    assert parsed == [SseEvent(name or "message", "\n".join(lines)) for name, lines in events]
