"""Prometheus metrics: one registry per service process, served on its own HTTP port.

Services create their metrics on the registry passed to them (never on the global default registry), so tests
can build several services in one process without clashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

# Latency buckets in seconds, from 1 ms (cache, local) to 60 s (long generations).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass
class RpcMetrics:
    """The metrics every gRPC service exports: requests, errors by reason, latency."""

    requests: Counter
    errors: Counter
    latency: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry, service: str) -> RpcMetrics:
        prefix = f"bourse_{service.replace('-', '_')}"
        return cls(
            requests=Counter(f"{prefix}_requests", "RPCs handled", ["method"], registry=registry),
            errors=Counter(f"{prefix}_errors", "RPCs failed, by error reason", ["method", "reason"], registry=registry),
            latency=Histogram(
                f"{prefix}_latency_seconds", "RPC latency", ["method"], buckets=LATENCY_BUCKETS, registry=registry
            ),
        )


def serve_metrics(registry: CollectorRegistry, listen: str) -> WSGIServer | None:
    """Serve /metrics on `listen` ("host:port"); an empty string disables it. Returns the server to close."""
    if not listen:
        return None
    host, _, port = listen.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host or "127.0.0.1", registry=registry)
    return server
