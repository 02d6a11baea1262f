"""Client of the local-inference service (bourse.inference.v1.InferenceService). Errors come back as
BourseError; the caller falls back to remote models on any of them."""

from __future__ import annotations

import grpc
from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2, inference_service_pb2_grpc

from shared.grpc_errors import from_rpc_error


class InferenceClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel
        self._stub = inference_service_pb2_grpc.InferenceServiceStub(channel)  # type: ignore[no-untyped-call]

    async def generate(
        self,
        chat: chat_pb2.ChatRequest,
        request_id: str,
        timeout_s: float,
        *,
        output_pattern: str = "",
        copy_from_input: bool = False,
    ) -> inference_service_pb2.GenerateResponse:
        request = inference_service_pb2.GenerateRequest(
            chat=chat, request_id=request_id, output_pattern=output_pattern, copy_from_input=copy_from_input
        )
        try:
            response: inference_service_pb2.GenerateResponse = await self._stub.Generate(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return response

    async def score(
        self, chat: chat_pb2.ChatRequest, labels: list[str], request_id: str, timeout_s: float
    ) -> inference_service_pb2.ScoreResponse:
        request = inference_service_pb2.ScoreRequest(chat=chat, labels=labels, request_id=request_id)
        try:
            response: inference_service_pb2.ScoreResponse = await self._stub.Score(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return response

    async def close(self) -> None:
        await self._channel.close()
