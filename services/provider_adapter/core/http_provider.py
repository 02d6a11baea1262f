"""A Provider that speaks one dialect over HTTP, through an `HttpTransport` (one pooled client per upstream).

The transport (services/provider_adapter/http_transport.py, aiohttp) turns its own failures into the taxonomy's
reasons (CONNECT_TIMEOUT, CONNECT_FAILED, READ_TIMEOUT, CONNECTION_DROPPED); the deadline (DEADLINE) is kept here.
Every error leaving here carries provider/model metadata and has secrets scrubbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from services.provider_adapter.core.call_spans import describe_call, describe_completion
from services.provider_adapter.core.credentials import Credentials, Redactor
from services.provider_adapter.core.provider import Call, Dialect, Outcome, StreamChunk
from services.provider_adapter.core.quirks import Quirks
from services.provider_adapter.core.sse import SseParser
from services.provider_adapter.core.usage import prompt_chars
from services.provider_adapter.core.wire_json import ENCODER
from shared.error_catalogue import reason_of
from shared.errors import Reason, UpstreamError
from shared.instrumentation import Instruments, NoInstruments, Span


class HttpResponse(Protocol):
    """A response whose status and headers have arrived; the body is read once, whole or in chunks."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def read(self) -> bytes: ...

    async def read_chunk(self) -> bytes:
        """The next bytes of the body as they arrive; b"" at its end."""
        ...

    def release(self) -> None:
        """Give the connection back to the pool (after the body was read) or drop it."""
        ...


class HttpTransport(Protocol):
    """POSTs to one upstream. Transport failures raise UpstreamError with a transport reason."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse: ...


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where and how to reach one provider."""

    name: str
    base_url: str
    auth: str
    quirks: Quirks
    total_timeout_s: float
    regions: dict[str, str]


def auth_headers(style: str, key: str) -> dict[str, str]:
    if style == "bearer":
        return {"Authorization": f"Bearer {key}"}
    if style == "none":
        return {}
    return {style: key}


class HttpProvider:
    def __init__(
        self,
        upstream: Upstream,
        dialect: Dialect,
        transport: HttpTransport,
        credentials: Credentials,
        redactor: Redactor,
        *,
        instruments: Instruments | None = None,
    ) -> None:
        self._up = upstream
        self._dialect = dialect
        self._transport = transport
        self._instruments = instruments or NoInstruments()
        self._credentials = credentials
        self._redact = redactor
        self._json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._sse_headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def _headers(self, base: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
        headers = {**base, **extra}
        if self._credentials:
            headers.update(auth_headers(self._up.auth, self._credentials.next().reveal()))
        return headers

    def _url(self, call: Call, path: str) -> str:
        # A provider with one global endpoint (no regions listed) serves every region the router asks for;
        # one with regional endpoints must know the region asked for.
        if not call.region or not self._up.regions:
            return self._up.base_url + path
        base = self._up.regions.get(call.region)
        if base is None:
            raise UpstreamError(
                f"no endpoint for region {call.region!r} (known: {sorted(self._up.regions) or 'none'})",
                reason=Reason.UNSUPPORTED_FIELD,
                metadata={"field": "region"},
            )
        return base + path

    def _deadline(self, call: Call) -> float:
        budget = self._up.total_timeout_s
        if call.time_remaining_s is not None:
            budget = min(budget, call.time_remaining_s)
        return asyncio.get_running_loop().time() + budget

    async def complete(self, call: Call) -> Outcome:
        with self._errors(call) as span:
            wire = self._dialect.build_request(call, self._up.quirks, stream=False)
            headers = self._headers(self._json_headers, dict(wire.headers))
            url = self._url(call, wire.path)
            started = time.perf_counter_ns()
            async with asyncio.timeout_at(self._deadline(call)):
                response = await self._transport.post(url, ENCODER.encode(wire.body), headers)
                try:
                    body = await response.read()
                finally:
                    response.release()
                if response.status >= 300:
                    raise self._dialect.error_from_response(response.status, response.headers, body)
            latency_us = (time.perf_counter_ns() - started) // 1000
            completion, response_id = self._dialect.parse_response(body, prompt_chars(call.chat))
            describe_completion(span, call, completion, response_id)
            return Outcome(completion=completion, response_id=response_id, upstream_latency_us=latency_us)

    async def complete_stream(self, call: Call) -> AsyncIterator[StreamChunk]:
        with self._errors(call) as span:
            wire = self._dialect.build_request(call, self._up.quirks, stream=True)
            headers = self._headers(self._sse_headers, dict(wire.headers))
            url = self._url(call, wire.path)
            deadline = self._deadline(call)
            decoder = self._dialect.stream_decoder(prompt_chars(call.chat))
            parser = SseParser()
            started = time.perf_counter_ns()
            first = True
            async with asyncio.timeout_at(deadline):
                response = await self._transport.post(url, ENCODER.encode(wire.body), headers)
            try:
                if response.status >= 300:
                    async with asyncio.timeout_at(deadline):
                        body = await response.read()
                    raise self._dialect.error_from_response(response.status, response.headers, body)
                while not decoder.finished:
                    # The deadline bounds each read, never the consumer's time between our yields.
                    async with asyncio.timeout_at(deadline):
                        data = await response.read_chunk()
                    events = parser.feed(data) if data else parser.close()
                    for event in events:
                        for delta in decoder.on_event(event.event, event.data):
                            ttft = 0
                            if first:
                                ttft = max(1, (time.perf_counter_ns() - started) // 1000)
                                first = False
                            yield StreamChunk(delta=delta, time_to_first_token_us=ttft)
                    if not data:
                        decoder.close()
                        break
            finally:
                response.release()
            completion, response_id = decoder.result()
            describe_completion(span, call, completion, response_id)
            latency_us = (time.perf_counter_ns() - started) // 1000
            yield StreamChunk(
                outcome=Outcome(completion=completion, response_id=response_id, upstream_latency_us=latency_us)
            )

    @contextlib.contextmanager
    def _errors(self, call: Call) -> Iterator[Span]:
        meta = {"provider": call.provider, "model": call.model}
        with self._instruments.span("upstream_call", provider=call.provider, model=call.model) as span:
            describe_call(span, call, self._dialect.name)
            try:
                yield span
            except UpstreamError as error:
                span.record_error(error)
                raise self._scrubbed(error, meta) from None
            except TimeoutError as error:
                span.record_error(error)
                raise self._fail("deadline exceeded", Reason.DEADLINE, meta) from error

    def _fail(self, what: str, reason: Reason, meta: dict[str, str]) -> UpstreamError:
        return UpstreamError(f"{meta['provider']}/{meta['model']}: {what}", reason=reason, metadata=meta)

    def _scrubbed(self, error: UpstreamError, meta: dict[str, str]) -> UpstreamError:
        metadata = {k: self._redact(v) for k, v in error.metadata.items()}
        metadata.update(meta)
        return UpstreamError(
            self._redact(f"{meta['provider']}/{meta['model']}: {error.message}"),
            reason=reason_of(error.reason) or Reason.UPSTREAM_ERROR,
            retry_after_s=error.retry_after_s,
            metadata=metadata,
        )
