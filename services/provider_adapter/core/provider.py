"""The small interface every provider speaks, and the values that cross it.

A `Provider` answers a `Call` either whole (`complete`) or as a stream of `StreamChunk`s that ends with exactly
one chunk carrying the final `Outcome`. Optional abilities (embeddings, batch) would be separate Protocols.
A `Dialect` is the pure half of an HTTP provider: it turns a call into a wire request and wire bytes back into
neutral values; `HttpProvider` (http_provider.py) joins a dialect to a pooled HTTP client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.quirks import Quirks
from shared.errors import UpstreamError


@dataclass(slots=True)
class Call:
    """One request to one provider's model."""

    provider: str
    model: str
    chat: chat_pb2.ChatRequest
    request_id: str = ""
    # Regional endpoint to use; empty picks the provider's default base URL.
    region: str = ""
    # Seconds left before the caller gives up (from the gRPC deadline); None means the provider's own limit.
    time_remaining_s: float | None = None


@dataclass(slots=True)
class Outcome:
    """A finished answer: the completion (with usage), the provider's response id, time spent upstream."""

    completion: chat_pb2.ChatCompletion
    response_id: str
    upstream_latency_us: int


@dataclass(slots=True)
class StreamChunk:
    """Either a delta (with the time to first token on the first one) or the final outcome."""

    delta: chat_pb2.ChatDelta | None = None
    time_to_first_token_us: int = 0
    outcome: Outcome | None = None


class Provider(Protocol):
    """What the servicer needs from a provider."""

    async def complete(self, call: Call) -> Outcome: ...

    def complete_stream(self, call: Call) -> AsyncIterator[StreamChunk]: ...


@dataclass(slots=True)
class WireRequest:
    """An HTTP request a dialect wants sent: path below the provider's base URL, JSON body, extra headers."""

    path: str
    body: dict[str, Any]
    headers: Mapping[str, str]


class StreamDecoder(Protocol):
    """Turns one provider's SSE events into neutral deltas, collecting usage and finish reason on the way."""

    def on_event(self, event: str, data: str) -> list[chat_pb2.ChatDelta]:
        """Decode one SSE event; raises UpstreamError for an error event sent mid-stream."""
        ...

    @property
    def finished(self) -> bool:
        """True once the provider signalled the end of the stream ([DONE], message_stop, ...)."""
        ...

    def close(self) -> None:
        """The connection closed: mark the stream finished, or raise CONNECTION_DROPPED if it was cut short."""
        ...

    def result(self) -> tuple[chat_pb2.ChatCompletion, str]:
        """The assembled completion (content empty: it went out as deltas) and the response id."""
        ...


class Dialect(Protocol):
    """One wire dialect: request translation, response parsing, stream decoding, error classification."""

    name: str
    # Path prefix the simulator serves this dialect under, after /{provider} (demo mode).
    simulator_prefix: str

    def build_request(self, call: Call, quirks: Quirks, *, stream: bool) -> WireRequest:
        """Translate the neutral request; raises UpstreamError(UNSUPPORTED_FIELD) for fields it cannot honour."""
        ...

    def parse_response(self, body: bytes, prompt_chars: int) -> tuple[chat_pb2.ChatCompletion, str]:
        """Parse a successful non-streamed response into a completion and the provider's response id.

        `prompt_chars` feeds the usage estimate when the provider reports no usage.
        """
        ...

    def stream_decoder(self, prompt_chars: int) -> StreamDecoder: ...

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        """Classify a non-2xx response into the one error taxonomy."""
        ...
