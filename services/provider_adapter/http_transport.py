"""The adapter's HTTP edge: one pooled aiohttp session per upstream, behind core's `HttpTransport`.

aiohttp's failures become the taxonomy's transport reasons here, so core never sees an aiohttp exception:
CONNECT_TIMEOUT, READ_TIMEOUT, CONNECT_FAILED, CONNECTION_DROPPED, and UPSTREAM_ERROR for the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping

import aiohttp

from services.provider_adapter.core.registry import ProviderSpec
from shared.errors import Reason, UpstreamError


def new_session(spec: ProviderSpec) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=spec.max_connections, ttl_dns_cache=300, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(
        total=None, connect=spec.connect_timeout_s, sock_connect=spec.connect_timeout_s, sock_read=spec.read_timeout_s
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False
    )


@contextlib.contextmanager
def transport_errors() -> Iterator[None]:
    """aiohttp's exceptions as UpstreamError (the caller adds provider and model)."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as error:
        raise UpstreamError("connect timeout", reason=Reason.CONNECT_TIMEOUT) from error
    except aiohttp.ServerTimeoutError as error:
        raise UpstreamError("read timeout", reason=Reason.READ_TIMEOUT) from error
    except aiohttp.ClientConnectorError as error:
        what = error.os_error.strerror or "refused"
        raise UpstreamError(f"cannot connect: {what}", reason=Reason.CONNECT_FAILED) from None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as error:
        raise UpstreamError(f"connection dropped: {type(error).__name__}", reason=Reason.CONNECTION_DROPPED) from None
    except aiohttp.ClientError as error:
        raise UpstreamError(f"HTTP client error: {type(error).__name__}", reason=Reason.UPSTREAM_ERROR) from None


class AiohttpResponse:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self) -> bytes:
        with transport_errors():
            return await self._response.read()

    async def read_chunk(self) -> bytes:
        with transport_errors():
            return await self._response.content.readany()

    def release(self) -> None:
        self._response.release()


class AiohttpTransport:
    """POSTs through one session (its connection pool and timeouts come from the provider's spec).

    `propagate` (tracing on) adds the current trace context (`traceparent`) to each upstream request's headers.
    """

    def __init__(
        self, session: aiohttp.ClientSession, propagate: Callable[[MutableMapping[str, str]], None] | None = None
    ) -> None:
        self._session = session
        self._propagate = propagate

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> AiohttpResponse:
        if self._propagate is not None:
            headers = dict(headers)
            self._propagate(headers)
        with transport_errors():
            return AiohttpResponse(await self._session.post(url, data=body, headers=headers))

    async def close(self) -> None:
        await self._session.close()
