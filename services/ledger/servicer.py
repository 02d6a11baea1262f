"""LedgerService: proto <-> core types, nothing else. Queries run in worker threads off the event loop."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict

import grpc
from bourse.ledger.v1 import ledger_service_pb2 as pb
from bourse.ledger.v1 import ledger_service_pb2_grpc as pb_grpc

from shared.events.schemas import Feedback
from shared.pricing.manifest import PriceTier
from shared.pricing.model_prices import ModelPrice

from .core import reports
from .core.feedback import validate_feedback
from .core.store import LedgerStore
from .metrics import LedgerMetrics

_GROUP_NAMES: dict[int, str] = {
    pb.GROUP_BY_PROVIDER: "provider",
    pb.GROUP_BY_MODEL: "model",
    pb.GROUP_BY_TASK_KIND: "task_kind",
    pb.GROUP_BY_TENANT: "tenant",
}


def _filter(msg: pb.LedgerFilter) -> reports.Filter:
    return reports.Filter(
        start_ms=msg.start_ms,
        end_ms=msg.end_ms,
        tenant=msg.tenant,
        provider=msg.provider,
        model=msg.model,
        task_kind=msg.task_kind,
    )


def _group(value: int) -> str:
    return _GROUP_NAMES.get(value, "")


class LedgerServicer(pb_grpc.LedgerServiceServicer):
    def __init__(self, store: LedgerStore, metrics: LedgerMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def SubmitFeedback(
        self, request: pb.SubmitFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitFeedbackResponse:
        item = Feedback(
            request_id=request.request_id,
            tenant=request.tenant,
            score=request.score,
            comment=request.comment,
            ts_ms=int(time.time() * 1000),
        )
        validate_feedback(item)
        await asyncio.to_thread(self._store.insert_feedback, [item])
        known = await asyncio.to_thread(self._store.has_request, item.request_id)
        return pb.SubmitFeedbackResponse(request_known=known)

    async def GetReport(self, request: pb.GetReportRequest, context: grpc.aio.ServicerContext) -> pb.GetReportResponse:
        groups = [_group(g) for g in request.group_by]
        result = await asyncio.to_thread(reports.report, self._store, _filter(request.filter), groups)
        return pb.GetReportResponse(
            rows=[pb.ReportRow(**asdict(row)) for row in result.rows], total=pb.ReportRow(**asdict(result.total))
        )

    async def GetQualityRanking(
        self, request: pb.GetQualityRankingRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetQualityRankingResponse:
        rows = await asyncio.to_thread(
            reports.quality_ranking, self._store, _filter(request.filter), request.min_scored
        )
        return pb.GetQualityRankingResponse(rows=[pb.QualityRow(**asdict(row)) for row in rows])

    async def GetCounterfactual(
        self, request: pb.GetCounterfactualRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCounterfactualResponse:
        target = _model_price(request.target)
        result = await asyncio.to_thread(
            reports.counterfactual, self._store, _filter(request.filter), target, _group(request.group_by)
        )
        return pb.GetCounterfactualResponse(
            total=pb.CounterfactualRow(**asdict(result.total)),
            rows=[pb.CounterfactualRow(**asdict(row)) for row in result.rows],
        )


def _optional(message: pb.ModelPrice | pb.PriceTier, name: str) -> float | None:
    return float(getattr(message, name)) if message.HasField(name) else None


def _model_price(t: pb.ModelPrice) -> ModelPrice:
    return ModelPrice(
        provider=t.provider,
        model=t.model,
        input_per_mtok=t.input_per_mtok,
        output_per_mtok=t.output_per_mtok,
        cached_input_per_mtok=_optional(t, "cached_input_per_mtok"),
        cache_write_per_mtok=_optional(t, "cache_write_per_mtok"),
        reasoning_per_mtok=_optional(t, "reasoning_per_mtok"),
        cache_write_long_per_mtok=_optional(t, "cache_write_long_per_mtok"),
        tiers=tuple(
            PriceTier(
                above_prompt_tokens=tier.above_prompt_tokens,
                input_per_mtok=tier.input_per_mtok,
                output_per_mtok=tier.output_per_mtok,
                cached_input_per_mtok=_optional(tier, "cached_input_per_mtok"),
                cache_write_per_mtok=_optional(tier, "cache_write_per_mtok"),
                reasoning_per_mtok=_optional(tier, "reasoning_per_mtok"),
                cache_write_long_per_mtok=_optional(tier, "cache_write_long_per_mtok"),
            )
            for tier in t.tiers
        ),
    )
