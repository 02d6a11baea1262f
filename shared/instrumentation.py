"""The instrumentation interface core modules emit through: counters, histograms, gauges and spans.

Core code (services/*/core) imports neither prometheus_client nor opentelemetry; it is handed an `Instruments`
by its edge. `NoInstruments` records nothing (tests, benchmarks, a service without metrics);
`shared.prometheus_instruments.PrometheusInstruments` records to a per-service Prometheus registry. A tracing
implementation (OpenTelemetry) fits the same `span()` shape without a change to core.

Instruments are created once, at construction; bind label values once too (`counter.labels("daily")`) where a
hot path would otherwise look the series up per call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

AttributeValue = str | int | float | bool


class Counter(Protocol):
    """A monotonically increasing count; `labels(...)` selects one series of a labelled counter."""

    def labels(self, *values: str) -> Counter: ...

    def inc(self, amount: float = 1.0) -> None: ...


class Histogram(Protocol):
    """A distribution of observed values (seconds, tokens, micro-dollars)."""

    def labels(self, *values: str) -> Histogram: ...

    def observe(self, value: float) -> None: ...


class Gauge(Protocol):
    """A value that goes up and down (queue depth, open circuits)."""

    def labels(self, *values: str) -> Gauge: ...

    def set(self, value: float) -> None: ...

    def inc(self, amount: float = 1.0) -> None: ...

    def dec(self, amount: float = 1.0) -> None: ...


class Span(Protocol):
    """One timed unit of work. Attributes and errors are recorded on it; the context manager ends it."""

    def set_attribute(self, key: str, value: AttributeValue) -> None: ...

    def record_error(self, error: BaseException) -> None: ...


class Instruments(Protocol):
    """What a core module may create: named metrics (names follow Prometheus rules) and spans."""

    def counter(self, name: str, description: str, labels: Sequence[str] = ()) -> Counter: ...

    def histogram(
        self, name: str, description: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> Histogram: ...

    def gauge(self, name: str, description: str, labels: Sequence[str] = ()) -> Gauge: ...

    def span(self, name: str, **attributes: AttributeValue) -> AbstractContextManager[Span]:
        """Time `name` until the block ends; an exception leaving the block is recorded on the span and re-raised."""
        ...


class _NoMetric:
    """Counter, Histogram and Gauge at once: every call does nothing."""

    def labels(self, *values: str) -> _NoMetric:
        return self

    def inc(self, amount: float = 1.0) -> None:
        pass

    def dec(self, amount: float = 1.0) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, value: float) -> None:
        pass


class _NoSpan:
    def set_attribute(self, key: str, value: AttributeValue) -> None:
        pass

    def record_error(self, error: BaseException) -> None:
        pass


class NoInstruments:
    """Records nothing; the default where no instrumentation is wired."""

    def __init__(self) -> None:
        self._metric = _NoMetric()
        self._span = _NoSpan()

    def counter(self, name: str, description: str, labels: Sequence[str] = ()) -> Counter:
        return self._metric

    def histogram(
        self, name: str, description: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> Histogram:
        return self._metric

    def gauge(self, name: str, description: str, labels: Sequence[str] = ()) -> Gauge:
        return self._metric

    @contextmanager
    def span(self, name: str, **attributes: AttributeValue) -> Iterator[Span]:
        yield self._span
