"""Prometheus metrics of one local-inference instance (its own registry)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from shared.metrics import RpcMetrics


@dataclass
class InferenceMetrics:
    rpc: RpcMetrics
    tokens: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> InferenceMetrics:
        return cls(
            rpc=RpcMetrics.create(registry, "local_inference"),
            tokens=Counter("bourse_local_inference_tokens", "Tokens processed, by kind", ["kind"], registry=registry),
        )
