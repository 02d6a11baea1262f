"""Prometheus metrics of the adapter: RPCs, upstream latency and time to first token per provider."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

from services.provider_adapter.core.provider import Call, Outcome
from shared.errors import BourseError
from shared.metrics import LATENCY_BUCKETS, RpcMetrics


@dataclass
class AdapterMetrics:
    rpc: RpcMetrics
    upstream_latency: Histogram
    time_to_first_token: Histogram
    upstream_errors: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AdapterMetrics:
        labels = ["provider", "model"]
        return cls(
            rpc=RpcMetrics.create(registry, "provider_adapter"),
            upstream_latency=Histogram(
                "bourse_provider_adapter_upstream_latency_seconds",
                "Time spent on the provider's HTTP API",
                labels,
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            time_to_first_token=Histogram(
                "bourse_provider_adapter_time_to_first_token_seconds",
                "Streams: time from sending the request to the first token",
                labels,
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            upstream_errors=Counter(
                "bourse_provider_adapter_upstream_errors",
                "Failed provider calls by reason",
                [*labels, "reason"],
                registry=registry,
            ),
        )

    def succeeded(self, call: Call, outcome: Outcome) -> None:
        self.upstream_latency.labels(call.provider, call.model).observe(outcome.upstream_latency_us / 1e6)

    def first_token(self, call: Call, ttft_us: int) -> None:
        self.time_to_first_token.labels(call.provider, call.model).observe(ttft_us / 1e6)

    def failed(
        self,
        provider: str,
        model: str,
        error: BourseError,
        logger: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.upstream_errors.labels(provider, model, error.reason).inc()
        # error.message is already scrubbed of secrets by the provider; no request text is logged.
        logger.warning("upstream_failed", provider=provider, model=model, reason=error.reason, error=error.message)
