"""A bounded, append-only local spool for events that could not reach NATS.

Records are appended in order to one file as `[u32 length][u32 crc32][msgpack (subject, msg_id, payload)]`.
Replay reads from the consumed offset (kept in `<file>.offset`, replaced atomically) and commits it once a
batch is acknowledged; when everything is consumed both files are reset to empty. A torn record at the end
(a crash mid-append) fails its length or checksum and is cut off when the spool is opened, so a restarted
process replays exactly what was fully written. The file never grows past `max_bytes`: records that do not fit
are refused and the caller counts them as dropped.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import msgspec

_HEADER = struct.Struct(">II")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(tuple[str, str, bytes])


class SpooledEvent(NamedTuple):
    subject: str
    payload: bytes
    msg_id: str


class EventSpool:
    """One process owns a spool file; not thread-safe (the publisher's background task is its only user)."""

    def __init__(self, path: str | Path, max_bytes: int = 256 * 1024 * 1024, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._offset_path = self.path.with_name(self.path.name + ".offset")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a+b")
        self._consumed = self._read_offset()
        self._size = self._recover()

    @property
    def pending_bytes(self) -> int:
        return self._size - self._consumed

    @property
    def pending(self) -> bool:
        return self._size > self._consumed

    def append(self, events: Sequence[SpooledEvent]) -> int:
        """Append events in order; returns how many were written (the rest did not fit under max_bytes)."""
        chunks: list[bytes] = []
        size = self._size
        for event in events:
            body = _encoder.encode((event.subject, event.msg_id, event.payload))
            record = _HEADER.pack(len(body), zlib.crc32(body)) + body
            if size + len(record) > self.max_bytes:
                break
            chunks.append(record)
            size += len(record)
        if chunks:
            self._file.seek(0, os.SEEK_END)
            self._file.write(b"".join(chunks))
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self._size = size
        return len(chunks)

    def peek(self, max_events: int) -> tuple[list[SpooledEvent], int]:
        """Up to `max_events` from the consumed offset on, and the offset just past them (for `commit`)."""
        events: list[SpooledEvent] = []
        offset = self._consumed
        self._file.seek(offset)
        while len(events) < max_events and offset < self._size:
            length, _crc = _HEADER.unpack(self._file.read(_HEADER.size))
            subject, msg_id, payload = _decoder.decode(self._file.read(length))
            events.append(SpooledEvent(subject, payload, msg_id))
            offset += _HEADER.size + length
        return events, offset

    def commit(self, offset: int) -> None:
        """Mark everything before `offset` as delivered; resets the files once all is delivered."""
        if offset >= self._size:
            self._file.truncate(0)
            self._file.flush()
            self._size = 0
            offset = 0
        self._consumed = offset
        tmp = self._offset_path.with_name(self._offset_path.name + ".tmp")
        tmp.write_text(str(offset))
        tmp.replace(self._offset_path)

    def close(self) -> None:
        self._file.close()

    def _read_offset(self) -> int:
        try:
            return max(0, int(self._offset_path.read_text().strip() or 0))
        except (OSError, ValueError):
            return 0

    def _recover(self) -> int:
        """Walk the records from the consumed offset; cut a torn or corrupt tail off the file."""
        self._file.seek(0, os.SEEK_END)
        end = self._file.tell()
        if self._consumed > end:
            self._consumed = 0
        offset = self._consumed
        self._file.seek(offset)
        while offset < end:
            header = self._file.read(_HEADER.size)
            if len(header) < _HEADER.size:
                break
            length, crc = _HEADER.unpack(header)
            body = self._file.read(length)
            if len(body) < length or zlib.crc32(body) != crc:
                break
            offset += _HEADER.size + length
        if offset < end:
            self._file.truncate(offset)
            self._file.flush()
        return offset
