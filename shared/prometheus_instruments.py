"""`Instruments` backed by prometheus_client, on a per-service registry (the edge side of shared.instrumentation).

Spans have no Prometheus form: each span name becomes a histogram `<name>_seconds` of its durations, with an
`outcome` label ("ok" or "error"); attributes are not recorded (a tracing implementation records them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import prometheus_client

from shared.instrumentation import AttributeValue, Counter, Gauge, Histogram, Span
from shared.metrics import LATENCY_BUCKETS

_NOT_A_NAME_CHAR = re.compile(r"[^a-zA-Z0-9_]")


class _SpanTimer:
    def set_attribute(self, key: str, value: AttributeValue) -> None:
        pass

    def record_error(self, error: BaseException) -> None:
        pass


class PrometheusInstruments:
    """Creates prometheus_client metrics on `registry`. Every name gets `prefix` (e.g. "bourse_router_")."""

    def __init__(self, registry: prometheus_client.CollectorRegistry, prefix: str = "") -> None:
        self._registry = registry
        self._prefix = prefix
        self._spans: dict[str, prometheus_client.Histogram] = {}
        self._span = _SpanTimer()

    def counter(self, name: str, description: str, labels: Sequence[str] = ()) -> Counter:
        return prometheus_client.Counter(self._prefix + name, description, list(labels), registry=self._registry)

    def histogram(
        self, name: str, description: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> Histogram:
        return prometheus_client.Histogram(
            self._prefix + name,
            description,
            list(labels),
            buckets=tuple(buckets) or LATENCY_BUCKETS,
            registry=self._registry,
        )

    def gauge(self, name: str, description: str, labels: Sequence[str] = ()) -> Gauge:
        return prometheus_client.Gauge(self._prefix + name, description, list(labels), registry=self._registry)

    @contextmanager
    def span(self, name: str, **attributes: AttributeValue) -> Iterator[Span]:
        histogram = self._spans.get(name)
        if histogram is None:
            metric = _NOT_A_NAME_CHAR.sub("_", f"{self._prefix}{name}_seconds")
            histogram = self._spans[name] = prometheus_client.Histogram(
                metric, f"Duration of {name}", ["outcome"], buckets=LATENCY_BUCKETS, registry=self._registry
            )
        started = time.perf_counter()
        outcome = "error"
        try:
            yield self._span
            outcome = "ok"
        finally:
            histogram.labels(outcome).observe(time.perf_counter() - started)
