"""ProviderService over gRPC: proto <-> core Call/Outcome, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import structlog
from bourse.provider.v1 import provider_service_pb2 as pb
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from services.provider_adapter.core.provider import Call, Outcome
from services.provider_adapter.metrics import AdapterMetrics
from services.provider_adapter.upstreams import ProviderSet
from shared.errors import BourseError, FieldViolation, InvalidRequest


def _call(request: pb.CompleteRequest | pb.CompleteStreamRequest, context: grpc.aio.ServicerContext[Any, Any]) -> Call:
    violations = []
    if not request.provider:
        violations.append(FieldViolation("provider", "required"))
    if not request.model:
        violations.append(FieldViolation("model", "required"))
    if not request.chat.messages:
        violations.append(FieldViolation("chat.messages", "at least one message is required"))
    for i, message in enumerate(request.chat.messages):
        if message.role == 0:
            violations.append(FieldViolation(f"chat.messages[{i}].role", "role is required"))
    if violations:
        raise InvalidRequest("invalid provider call", violations=violations)
    remaining: float | None = context.time_remaining()
    return Call(
        provider=request.provider,
        model=request.model,
        chat=request.chat,
        request_id=request.request_id,
        region=request.region,
        time_remaining_s=remaining,
    )


def _response(outcome: Outcome) -> pb.CompleteResponse:
    return pb.CompleteResponse(
        completion=outcome.completion,
        upstream_latency_us=outcome.upstream_latency_us,
        provider_response_id=outcome.response_id,
    )


class ProviderServicer(pb_grpc.ProviderServiceServicer):
    def __init__(
        self, providers: ProviderSet, metrics: AdapterMetrics, logger: structlog.typing.FilteringBoundLogger
    ) -> None:
        self._providers = providers
        self._metrics = metrics
        self._log = logger

    async def Complete(
        self, request: pb.CompleteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CompleteResponse:
        with structlog.contextvars.bound_contextvars(request_id=request.request_id):
            try:
                call = _call(request, context)
                outcome = await self._providers.get(call.provider, call.model).complete(call)
            except BourseError as error:
                self._metrics.failed(request.provider, request.model, error, self._log)
                raise
            self._metrics.succeeded(call, outcome)
            return _response(outcome)

    async def CompleteStream(
        self, request: pb.CompleteStreamRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.CompleteStreamResponse]:
        with structlog.contextvars.bound_contextvars(request_id=request.request_id):
            try:
                call = _call(request, context)
                provider = self._providers.get(call.provider, call.model)
                async for chunk in provider.complete_stream(call):
                    if chunk.delta is not None:
                        if chunk.time_to_first_token_us:
                            self._metrics.first_token(call, chunk.time_to_first_token_us)
                        yield pb.CompleteStreamResponse(
                            delta=chunk.delta, time_to_first_token_us=chunk.time_to_first_token_us
                        )
                    elif chunk.outcome is not None:
                        self._metrics.succeeded(call, chunk.outcome)
                        yield pb.CompleteStreamResponse(done=_response(chunk.outcome))
            except BourseError as error:
                self._metrics.failed(request.provider, request.model, error, self._log)
                raise
