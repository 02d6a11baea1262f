"""Prometheus metrics of the gateway, on the registry passed in (one per instance)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.metrics import LATENCY_BUCKETS

# Paths outside these are counted as "other" so that random URLs cannot grow the label set.
KNOWN_PATHS = frozenset({"/v1/chat/completions", "/v1/models", "/v1/embeddings", "/healthz"})


@dataclass
class GatewayMetrics:
    requests: Counter
    latency: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> GatewayMetrics:
        return cls(
            requests=Counter(
                "bourse_gateway_requests", "HTTP requests, by path and status", ["path", "status"], registry=registry
            ),
            latency=Histogram(
                "bourse_gateway_latency_seconds",
                "HTTP request latency (to the response headers for streams)",
                ["path"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
        )

    def observe(self, path: str, status: int, seconds: float) -> None:
        label = path if path in KNOWN_PATHS else ("/v1/models" if path.startswith("/v1/models/") else "other")
        self.requests.labels(label, str(status)).inc()
        self.latency.labels(label).observe(seconds)
