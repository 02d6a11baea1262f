"""bourse.router.v1.RouterService: proto <-> core types, nothing else. Errors are raised as BourseError and
mapped to rich gRPC statuses by the shared interceptor."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeAlias, cast

import grpc
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc

from services.router.core.execution.ladder import RouteExecutor
from services.router.core.execution.route_types import TIER_VALUES, RouteInput, RouteOutcome
from services.router.core.resilience.circuit import ModelAvailability
from services.router.core.resilience.failover import AttemptResult
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.selection import Candidate, quality_for
from shared.pricing.price_age import DEFAULT_MAX_AGE_DAYS, age_days, epoch_day
from shared.pricing.price_table import PriceBook

_SERVED_FROM = {
    "local": routing_pb2.SERVED_FROM_LOCAL,
    "cache": routing_pb2.SERVED_FROM_CACHE,
    "remote": routing_pb2.SERVED_FROM_REMOTE,
}
_OUTCOMES = {
    "success": pb.ATTEMPT_OUTCOME_SUCCESS,
    "error": pb.ATTEMPT_OUTCOME_ERROR,
    "invalid_output": pb.ATTEMPT_OUTCOME_INVALID_OUTPUT,
    "cancelled": pb.ATTEMPT_OUTCOME_CANCELLED,
    "miss": pb.ATTEMPT_OUTCOME_MISS,
}
_CAPABILITIES = {
    "tools": routing_pb2.CAPABILITY_TOOLS,
    "json_schema": routing_pb2.CAPABILITY_JSON_SCHEMA,
    "json_object": routing_pb2.CAPABILITY_JSON_OBJECT,
    "vision": routing_pb2.CAPABILITY_VISION,
    "streaming": routing_pb2.CAPABILITY_STREAMING,
    "system_prompt": routing_pb2.CAPABILITY_SYSTEM_PROMPT,
}
_TASK_KINDS: dict[str, routing_pb2.TaskKind] = {
    name.removeprefix("TASK_KIND_").lower(): cast(routing_pb2.TaskKind, value)
    for name, value in routing_pb2.TaskKind.items()
}
Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class RouterServicer(router_service_pb2_grpc.RouterServiceServicer):
    def __init__(
        self,
        executor: RouteExecutor,
        book: PriceBook,
        stats: LiveStats,
        availability: ModelAvailability,
        *,
        clock: Callable[[], float] = time.time,
        max_price_age_days: float = DEFAULT_MAX_AGE_DAYS,
    ) -> None:
        self._executor = executor
        self._book = book
        self._stats = stats
        self._availability = availability
        self._clock = clock  # seconds since the epoch: dates the prices' age
        self._max_price_age_days = max_price_age_days

    async def Route(self, request: pb.RouteRequest, context: Context) -> pb.RouteResponse:
        inp = _input(request, stream=False)
        outcome = await self._executor.route(inp, deadline_s=context.time_remaining())
        return _response(outcome)

    async def RouteStream(
        self, request: pb.RouteStreamRequest, context: Context
    ) -> AsyncIterator[pb.RouteStreamResponse]:
        inp = _input(request, stream=True)
        request_id = inp.request_id  # on the first message only: the relay names it before the summary
        async for item in self._executor.route_stream(inp, deadline_s=context.time_remaining()):
            if isinstance(item, chat_pb2.ChatDelta):
                yield pb.RouteStreamResponse(delta=item, request_id=request_id)
            else:
                yield pb.RouteStreamResponse(summary=_response(item), request_id=request_id)
            request_id = ""

    async def Explain(self, request: pb.ExplainRequest, context: Context) -> pb.ExplainResponse:
        inp = _input(request, stream=False)
        quality = self._executor.quality
        prediction = quality.assess(inp.chat) if quality is not None and self._executor.needs_prediction(inp) else None
        planned = self._executor.plan_quality(inp, limit=None, prediction=prediction)
        profile, selection = planned.profile, planned.selection
        response = pb.ExplainResponse(
            candidates=[_candidate(c, selection.estimated_prompt_tokens) for c in selection.candidates],
            rejected=[
                pb.Rejection(provider=r.provider, model=r.model, constraint=r.constraint, detail=r.detail)
                for r in selection.rejections
            ],
            estimated_prompt_tokens=selection.estimated_prompt_tokens,
            local_first=self._executor.uses_local(profile, selection),
            quality_target=profile.quality_target,
            predicted_difficulty=profile.difficulty,
            predicted_need=prediction.need if prediction is not None else 0.0,
            quality_target_unmet=planned.target_unmet,
        )
        if quality is not None and profile.quality_target > 0.0:
            for message, candidate in zip(response.candidates, selection.candidates, strict=True):
                prior = quality_for(candidate.entry, profile.task_kind)
                estimate = quality.explain(profile.tenant, profile.task_kind, candidate.key, prior, profile.difficulty)
                message.quality.CopyFrom(
                    pb.QualityEstimate(
                        probability=estimate.probability,
                        prior=estimate.prior,
                        posterior=estimate.posterior,
                        successes=estimate.counts.successes,
                        failures=estimate.counts.failures,
                    )
                )
        return response

    async def ListModels(self, request: pb.ListModelsRequest, context: Context) -> pb.ListModelsResponse:
        table = self._book.current
        now = time.monotonic()
        today = self._clock()
        models = []
        for entry in table.entries:
            region = entry.regions[0] if entry.regions else ""
            p50, p95 = self._stats.latency_ms(entry.provider, entry.model, region)
            prices = entry.prices
            models.append(
                pb.ModelInfo(
                    provider=entry.provider,
                    model=entry.model,
                    regions=list(entry.regions),
                    tier=TIER_VALUES.get(entry.tier, routing_pb2.MODEL_TIER_UNSPECIFIED),
                    pricing=pb.Pricing(
                        input_per_mtok=prices.input_per_mtok,
                        output_per_mtok=prices.output_per_mtok,
                        cached_input_per_mtok=prices.cached_input_per_mtok or 0.0,
                        cache_write_per_mtok=prices.cache_write_per_mtok or 0.0,
                        reasoning_per_mtok=prices.reasoning_per_mtok or 0.0,
                        cache_write_long_per_mtok=prices.cache_write_long_per_mtok or 0.0,
                    ),
                    context_window=entry.context_window,
                    max_output_tokens=entry.max_output_tokens,
                    capabilities=[_CAPABILITIES[c] for c in entry.capabilities if c in _CAPABILITIES],
                    quality=[
                        pb.TaskQuality(task_kind=_TASK_KINDS[k], score=v)
                        for k, v in sorted(entry.quality.items())
                        if k in _TASK_KINDS
                    ],
                    residency_tags=list(entry.residency),
                    p50_latency_ms=p50,
                    p95_latency_ms=p95,
                    available=self._availability.unavailable_reason(entry.provider, entry.model, now) is None,
                    prices_as_of=entry.prices_as_of or table.base_as_of,
                    price_age_days=age_days(table.price_days.get(entry.key), today) or 0,
                    retires_on=entry.retires_on,
                )
            )
        oldest = table.oldest_as_of()
        return pb.ListModelsResponse(
            models=models,
            prices_as_of=table.as_of,
            oldest_prices_as_of=oldest,
            oldest_price_age_days=age_days(epoch_day(oldest), today) or 0,
            max_price_age_days=self._max_price_age_days,
        )


def _input(request: pb.RouteRequest | pb.RouteStreamRequest | pb.ExplainRequest, *, stream: bool) -> RouteInput:
    context = request.context
    return RouteInput(
        chat=request.chat,
        constraints=request.constraints,
        # Ours, always: a client's id could collide with another request's (and be deduplicated away with its spend).
        request_id=uuid.uuid4().hex,
        client_request_id=context.request_id,
        tenant=context.tenant_id or "default",
        key_id=context.key_id,
        metadata=dict(context.metadata),
        stream=stream,
        has_chat=request.HasField("chat"),
        context=context,
    )


def _response(outcome: RouteOutcome) -> pb.RouteResponse:
    return pb.RouteResponse(
        request_id=outcome.request_id,
        completion=outcome.completion,
        cost_micro_usd=outcome.cost_micro_usd,
        provider=outcome.provider,
        model=outcome.model,
        region=outcome.region,
        served_from=_SERVED_FROM.get(outcome.served_from, routing_pb2.SERVED_FROM_UNSPECIFIED),
        attempts=[_attempt(a) for a in outcome.attempts],
        latency=pb.LatencyBreakdown(
            total_us=int(outcome.total_s * 1e6),
            selection_us=int(outcome.selection_s * 1e6),
            upstream_us=int(outcome.upstream_s * 1e6),
            time_to_first_token_us=int(outcome.ttft_s * 1e6) if outcome.ttft_s is not None else 0,
        ),
        saved_micro_usd=outcome.saved_micro_usd,
        client_request_id=outcome.client_request_id,
    )


def _attempt(attempt: AttemptResult) -> pb.Attempt:
    return pb.Attempt(
        provider=attempt.provider,
        model=attempt.model,
        outcome=_OUTCOMES[attempt.outcome],
        error_reason=attempt.error_reason,
        latency_us=int(attempt.latency_s * 1e6),
        cost_micro_usd=attempt.cost_micro_usd,
        served_from=_SERVED_FROM.get(attempt.served_from, routing_pb2.SERVED_FROM_UNSPECIFIED),
        served_from_detail=attempt.served_from_detail,
        confidence=attempt.confidence,
    )


def _candidate(candidate: Candidate, prompt_tokens: int) -> pb.Candidate:
    return pb.Candidate(
        provider=candidate.provider,
        model=candidate.model,
        region=candidate.region,
        tier=TIER_VALUES.get(candidate.entry.tier, routing_pb2.MODEL_TIER_UNSPECIFIED),
        estimated_cost_micro_usd=candidate.estimated_cost_micro_usd,
        expected_latency_ms=candidate.p50_ms,
        p95_latency_ms=candidate.p95_ms,
        estimated_prompt_tokens=prompt_tokens,
        expected_completion_tokens=candidate.expected_completion_tokens,
    )
