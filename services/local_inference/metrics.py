"""Prometheus metrics of one local-inference instance (its own registry)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from shared.errors import BourseError
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

    @contextmanager
    def observe(self, method: str) -> Iterator[None]:
        self.rpc.requests.labels(method).inc()
        started = time.perf_counter()
        try:
            yield
        except BourseError as error:
            self.rpc.errors.labels(method, error.reason).inc()
            raise
        except Exception:
            self.rpc.errors.labels(method, "INTERNAL").inc()
            raise
        finally:
            self.rpc.latency.labels(method).observe(time.perf_counter() - started)
