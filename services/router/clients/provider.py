"""Client of the provider-adapter (bourse.provider.v1.ProviderService). Errors come back as BourseError."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from bourse.common.v1 import chat_pb2
from bourse.provider.v1 import provider_service_pb2, provider_service_pb2_grpc

from services.router.core.execution.route_types import Target
from shared.grpc_errors import from_rpc_error


class ProviderClient:
    """One channel and stub for the life of the router; every call carries its own deadline."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel
        self._stub = provider_service_pb2_grpc.ProviderServiceStub(channel)  # type: ignore[no-untyped-call]

    async def complete(
        self, target: Target, chat: chat_pb2.ChatRequest, *, region: str, request_id: str, timeout_s: float
    ) -> provider_service_pb2.CompleteResponse:
        request = provider_service_pb2.CompleteRequest(
            provider=target.provider, model=target.model, region=region, chat=chat, request_id=request_id
        )
        try:
            response: provider_service_pb2.CompleteResponse = await self._stub.Complete(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return response

    async def stream(
        self, target: Target, chat: chat_pb2.ChatRequest, *, region: str, request_id: str, timeout_s: float
    ) -> AsyncIterator[provider_service_pb2.CompleteStreamResponse]:
        request = provider_service_pb2.CompleteStreamRequest(
            provider=target.provider, model=target.model, region=region, chat=chat, request_id=request_id
        )
        call = self._stub.CompleteStream(request, timeout=timeout_s)
        try:
            async for message in call:
                yield message
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        await self._channel.close()
