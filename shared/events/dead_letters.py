"""Dead letters: events that can never be published or stored, parked on the BOURSE_DEAD_LETTER stream.

A dead letter is published on `bourse.deadletter.<source>` (the original subject's kind, e.g. "telemetry") with
headers saying why and what it was:

| header | value |
|---|---|
| `Bourse-Dead-Letter-Reason` | a stable reason, one of `DeadLetterReason` below |
| `Bourse-Dead-Letter-Detail` | a human sentence (at most 512 characters) |
| `Bourse-Original-Subject` | the original subject, cut to 256 bytes |
| `Bourse-Original-Msg-Id` | the original Nats-Msg-Id, cut to 256 bytes |
| `Bourse-Original-Bytes` | the original payload's size |
| `Bourse-Truncated` | "true" when the body holds only the first `MAX_BODY_BYTES` of the payload |

The body is the original payload (or its first `MAX_BODY_BYTES`). Every dead letter is counted by the producing
service (`bourse_events_dead_lettered_total{service, reason}`), and an alert fires on any increase
(deploy/prometheus/bourse-alerts.yaml). Read them with `nats stream view BOURSE_DEAD_LETTER`.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import NamedTuple

from shared.events import subjects
from shared.input_bounds import BOUNDS

MAX_BODY_BYTES = 64 * 1024
REASON_HEADER = "Bourse-Dead-Letter-Reason"
DETAIL_HEADER = "Bourse-Dead-Letter-Detail"
SUBJECT_HEADER = "Bourse-Original-Subject"
MSG_ID_HEADER = "Bourse-Original-Msg-Id"
BYTES_HEADER = "Bourse-Original-Bytes"
TRUNCATED_HEADER = "Bourse-Truncated"
_MAX_MSG_ID_BYTES = 256


class DeadLetterReason(StrEnum):
    SUBJECT_TOO_LONG = "subject_too_long"  # nats-server would close the connection (control line > 4 KiB)
    MSG_ID_INVALID = "msg_id_invalid"  # a Nats-Msg-Id with CR/LF or too long would corrupt the headers
    PAYLOAD_TOO_LARGE = "payload_too_large"  # over the event bound or the server's max_payload
    REJECTED_BY_STREAM = "rejected_by_stream"  # JetStream answered with a permanent error
    UNDECODABLE = "undecodable"  # a consumer could not decode or validate it
    UNSTORABLE = "unstorable"  # a consumer's store refused it, alone


class DeadLetter(NamedTuple):
    subject: str
    payload: bytes
    headers: dict[str, str]


def problem(subject: str, payload: bytes, msg_id: str, max_payload: int) -> tuple[DeadLetterReason, str] | None:
    """Why this event can never be published (None when it can). Checked before each publish: cheap."""
    if len(subject) > BOUNDS.subject_max_bytes or len(subject.encode()) > BOUNDS.subject_max_bytes:
        return DeadLetterReason.SUBJECT_TOO_LONG, f"subject of {len(subject.encode())} bytes"
    if len(msg_id) > _MAX_MSG_ID_BYTES or "\r" in msg_id or "\n" in msg_id:
        return DeadLetterReason.MSG_ID_INVALID, "Nats-Msg-Id too long or holding CR/LF"
    limit = min(BOUNDS.event_max_bytes, max_payload) if max_payload > 0 else BOUNDS.event_max_bytes
    if len(payload) > limit:
        return DeadLetterReason.PAYLOAD_TOO_LARGE, f"payload of {len(payload)} bytes, limit {limit}"
    return None


def dead_letter(subject: str, payload: bytes, msg_id: str, reason: DeadLetterReason, detail: str) -> DeadLetter:
    """The message to park for an event; its own Nats-Msg-Id is derived, so a replay is deduplicated."""
    parts = subject.split(".", 2)
    source = parts[1] if len(parts) > 1 and parts[0] == "bourse" and len(parts[1]) <= 32 else "unknown"
    digest = hashlib.sha256(f"{subject}\0{msg_id}".encode("utf-8", "backslashreplace")).hexdigest()[:32]
    headers = {
        "Nats-Msg-Id": f"dl-{digest}",
        REASON_HEADER: str(reason),
        DETAIL_HEADER: _header_text(detail, 512),
        SUBJECT_HEADER: _header_text(subject, 256),
        MSG_ID_HEADER: _header_text(msg_id, _MAX_MSG_ID_BYTES),
        BYTES_HEADER: str(len(payload)),
    }
    body = payload
    if len(payload) > MAX_BODY_BYTES:
        body = payload[:MAX_BODY_BYTES]
        headers[TRUNCATED_HEADER] = "true"
    return DeadLetter(subjects.dead_letter(source), body, headers)


def _header_text(text: str, limit: int) -> str:
    """Printable ASCII only (a header value must not break the header block), at most `limit` characters."""
    safe = text[: limit * 2].encode("ascii", "backslashreplace").decode("ascii")
    return "".join(ch if " " <= ch <= "~" else "?" for ch in safe)[:limit]
