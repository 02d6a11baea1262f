"""The router's publications on NATS: telemetry and cost per request, budget alerts. Enqueue only: the
EventPublisher sends from its own task, so nothing here is awaited on the Route path."""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from services.router.core.execution.route_types import RouteOutcome
from shared.events import subjects
from shared.events.publisher import EventPublisher
from shared.events.schemas import AttemptRecord, BudgetAlert, CostEvent, TelemetryEvent
from shared.metrics import LATENCY_BUCKETS


@dataclass
class RouteMetrics:
    """Prometheus series of routed requests, on the router's own registry."""

    requests: Counter
    latency: Histogram
    cost: Counter
    saved: Counter
    attempts: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> RouteMetrics:
        return cls(
            requests=Counter(
                "bourse_router_routed",
                "Requests routed, by tier and outcome",
                ["served_from", "outcome"],
                registry=registry,
            ),
            latency=Histogram(
                "bourse_router_route_latency_seconds",
                "Route latency",
                ["served_from"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            cost=Counter("bourse_router_cost_micro_usd", "Spend in micro-USD", ["provider"], registry=registry),
            saved=Counter("bourse_router_saved_micro_usd", "Saved by local and cache answers", registry=registry),
            attempts=Counter(
                "bourse_router_attempts", "Attempts by provider and outcome", ["provider", "outcome"], registry=registry
            ),
        )


class RouterEvents:
    def __init__(self, publisher: EventPublisher, metrics: RouteMetrics) -> None:
        self._publisher = publisher
        self._metrics = metrics

    def record(self, outcome: RouteOutcome) -> None:
        event = telemetry_event(outcome)
        self._count(event)
        self._publisher.publish(subjects.telemetry(event.provider, event.model), event, msg_id=outcome.request_id)
        if outcome.error is None:
            cost = CostEvent(
                request_id=outcome.request_id,
                ts_ms=event.ts_ms,
                tenant=outcome.tenant,
                key_id=outcome.key_id,
                provider=event.provider,
                model=event.model,
                served_from=event.served_from,
                task_kind=outcome.task_kind,
                prompt_tokens=event.prompt_tokens,
                completion_tokens=event.completion_tokens,
                cost_micro_usd=outcome.cost_micro_usd,
                saved_micro_usd=outcome.saved_micro_usd,
                client_request_id=outcome.client_request_id,
            )
            self._publisher.publish(subjects.cost(outcome.tenant), cost, msg_id=outcome.request_id)

    def _count(self, event: TelemetryEvent) -> None:
        metrics = self._metrics
        metrics.requests.labels(event.served_from, event.outcome).inc()
        metrics.latency.labels(event.served_from).observe(event.latency_ms / 1000.0)
        if event.cost_micro_usd:
            metrics.cost.labels(event.provider).inc(event.cost_micro_usd)
        if event.saved_micro_usd:
            metrics.saved.inc(event.saved_micro_usd)
        for attempt in event.attempts:
            metrics.attempts.labels(attempt.provider, attempt.outcome).inc()

    def alert(self, alert: BudgetAlert) -> None:
        msg_id = f"{alert.tenant}:{alert.limit}:{alert.period}:{alert.threshold_pct}"
        self._publisher.publish(subjects.budget_alert(alert.tenant), alert, msg_id=msg_id)


def telemetry_event(outcome: RouteOutcome) -> TelemetryEvent:
    """The telemetry of one request. Never carries prompt or answer text."""
    provider, model = outcome.provider, outcome.model
    if not provider and outcome.attempts:  # every attempt failed: file it under the last model tried
        provider, model = outcome.attempts[-1].provider, outcome.attempts[-1].model
    usage = outcome.completion.usage if outcome.completion is not None else None
    remote = sum(1 for a in outcome.attempts if a.served_from == "remote")
    return TelemetryEvent(
        request_id=outcome.request_id,
        ts_ms=int(time.time() * 1000),
        tenant=outcome.tenant,
        key_id=outcome.key_id,
        task_kind=outcome.task_kind,
        provider=provider,
        model=model,
        region=outcome.region,
        served_from=outcome.served_from,
        stream=outcome.stream,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        cached_tokens=usage.cached_prompt_tokens if usage else 0,
        cache_write_tokens=usage.cache_write_tokens if usage else 0,
        reasoning_tokens=usage.reasoning_tokens if usage else 0,
        cache_write_long_tokens=usage.cache_write_long_tokens if usage else 0,
        usage_estimated=usage.estimated if usage else False,
        estimated_prompt_tokens=outcome.estimated_prompt_tokens,
        cost_micro_usd=outcome.cost_micro_usd,
        saved_micro_usd=outcome.saved_micro_usd,
        latency_ms=outcome.total_s * 1000.0,
        upstream_ms=outcome.upstream_s * 1000.0,
        ttft_ms=outcome.ttft_s * 1000.0 if outcome.ttft_s is not None else None,
        retries=max(remote - 1, 0),
        attempts=[
            AttemptRecord(
                provider=a.provider,
                model=a.model,
                served_from=a.served_from,
                outcome=a.outcome,
                error_reason=a.error_reason,
                latency_ms=a.latency_s * 1000.0,
                cost_micro_usd=a.cost_micro_usd,
            )
            for a in outcome.attempts
        ],
        outcome="error" if outcome.error is not None else "ok",
        error_reason=outcome.error.reason if outcome.error is not None else "",
        metadata=outcome.metadata,
        client_request_id=outcome.client_request_id,
    )
