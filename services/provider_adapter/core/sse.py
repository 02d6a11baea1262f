"""Incremental Server-Sent Events parser (WHATWG rules) for provider streams.

Bytes arrive in arbitrary pieces: an event, a line or even a UTF-8 character may be split across reads. Lines
end in LF, CRLF or CR; lines starting with ':' are comments (keep-alives); an empty line dispatches the event.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class SseEvent:
    event: str
    data: str


@dataclass(slots=True)
class SseParser:
    _buffer: bytes = b""
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _pending_cr: bool = False

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Consume the next bytes; return the events completed by them."""
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across reads
        self._pending_cr = False
        buffer = self._buffer + chunk
        events: list[SseEvent] = []
        start = 0
        length = len(buffer)
        while start < length:
            lf = buffer.find(b"\n", start)
            cr = buffer.find(b"\r", start, lf if lf >= 0 else length)
            if cr >= 0:
                end, step = cr, 1
                if cr + 1 < length:
                    if buffer[cr + 1] == 0x0A:
                        step = 2
                else:
                    self._pending_cr = True
            elif lf >= 0:
                end, step = lf, 1
            else:
                break
            self._line(buffer[start:end].decode("utf-8", errors="replace"), events)
            start = end + step
        self._buffer = buffer[start:]
        return events

    def _line(self, line: str, events: list[SseEvent]) -> None:
        if not line:
            if self._data:
                events.append(SseEvent(self._event or "message", "\n".join(self._data)))
            self._event = ""
            self._data = []
            return
        if line[0] == ":":
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value

    def close(self) -> list[SseEvent]:
        """End of input: a final event without its blank line is still delivered (some servers omit it)."""
        events: list[SseEvent] = []
        if self._buffer:
            self._line(self._buffer.decode("utf-8", errors="replace"), events)
            self._buffer = b""
        self._line("", events)
        return events
