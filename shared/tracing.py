"""OpenTelemetry tracing for a service (the edge side of `shared.instrumentation`'s spans).

Built only when `shared.tracing_switch.tracing_requested` says so. Configured by the standard variables: the
OTLP/HTTP exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) and ..._HEADERS, the sampler
OTEL_TRACES_SAMPLER and ..._ARG, the batch processor OTEL_BSP_*, the resource OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES. Each service has its own TracerProvider (so several services in one process, as in the
tests, keep their own service.name); nothing is installed globally. W3C trace context (`traceparent`,
`tracestate`) is what crosses HTTP and gRPC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.genai_attributes import BOURSE_ATTEMPT_OUTCOME, BOURSE_ERROR_REASON
from shared.instrumentation import AttributeValue, Counter, Gauge, Histogram, Instruments, Span

_EXPORTERS = ("otlp", "console")


class TracingConfigError(ValueError):
    """OTEL_TRACES_EXPORTER or OTEL_EXPORTER_OTLP_PROTOCOL names something this build cannot export to."""


class Tracing:
    """One service's tracer, W3C propagator and exporter pipeline; `close()` flushes what is still queued."""

    def __init__(self, service: str, processor: SpanProcessor, resource: Resource | None = None) -> None:
        self.service = service
        self.provider = TracerProvider(resource=resource or _resource(service, {}), shutdown_on_exit=False)
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer(f"bourse.{service}")
        self.propagator = TraceContextTextMapPropagator()

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str]) -> Tracing:
        """Exporter by OTEL_TRACES_EXPORTER ("otlp", the default, over HTTP/protobuf; or "console")."""
        kind = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
        if kind not in _EXPORTERS:
            raise TracingConfigError(f"OTEL_TRACES_EXPORTER={kind!r} is not supported (use one of {_EXPORTERS})")
        protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        if kind == "otlp" and protocol not in (None, "", "http/protobuf"):
            raise TracingConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only http/protobuf is supported")
        exporter: SpanExporter = OTLPSpanExporter() if kind == "otlp" else ConsoleSpanExporter()
        return cls(service, BatchSpanProcessor(exporter), _resource(service, environ))

    # ---- what the edges use -------------------------------------------------------------------------------
    def instruments(self, inner: Instruments) -> Instruments:
        """`inner` (metrics, and its own span timing) plus an OpenTelemetry span for every `span()`."""
        return TracingInstruments(inner, self.tracer)

    def extract(self, carrier: Mapping[str, str]) -> otel_context.Context:
        """The remote parent in `traceparent`/`tracestate`; a missing or malformed one gives an empty context."""
        return self.propagator.extract(carrier)

    def inject(self, carrier: MutableMapping[str, str]) -> None:
        """Add the current span's `traceparent` (and `tracestate`) to outgoing headers or metadata."""
        self.propagator.inject(carrier)

    @contextmanager
    def server_span(
        self, name: str, parent: otel_context.Context, attributes: Mapping[str, AttributeValue]
    ) -> Iterator[trace.Span]:
        """A SERVER span for one incoming request, current while the block runs."""
        with self.tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes) as s:
            yield s

    async def close(self) -> None:
        """Export what is queued and stop the exporter (bounded by OTEL_BSP_EXPORT_TIMEOUT)."""
        await asyncio.to_thread(self.provider.shutdown)


def current_trace_id() -> str:
    """The current trace id as 32 hex digits, or "" outside a sampled span (for log lines)."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


def set_current_attributes(attributes: Mapping[str, AttributeValue]) -> None:
    """Set attributes on the current span (no-op outside one)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)


def _resource(service: str, environ: Mapping[str, str]) -> Resource:
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by Resource.create) win over the default name.
    named = environ.get("OTEL_SERVICE_NAME") or "service.name=" in environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return Resource.create({} if named else {"service.name": f"bourse-{service.replace('_', '-')}"})


class _TracedSpan:
    """Both spans of one `span()` block: the inner instruments' and OpenTelemetry's."""

    __slots__ = ("_errored", "_inner", "_span")

    def __init__(self, inner: Span, span: trace.Span) -> None:
        self._inner = inner
        self._span = span
        self._errored = False

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self._inner.set_attribute(key, value)
        self._span.set_attribute(key, value)

    def record_error(self, error: BaseException) -> None:
        if self._errored:  # recorded once, by the first who saw it
            return
        self._errored = True
        self._inner.record_error(error)
        if isinstance(error, asyncio.CancelledError | GeneratorExit):
            self._span.set_attribute(BOURSE_ATTEMPT_OUTCOME, "cancelled")
            return
        reason = getattr(error, "reason", None)
        if isinstance(reason, str):
            self._span.set_attribute(BOURSE_ERROR_REASON, reason)
        self._span.record_exception(error)
        self._span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


class TracingInstruments:
    """`Instruments` whose spans are OpenTelemetry spans (metrics go to `inner`)."""

    def __init__(self, inner: Instruments, tracer: trace.Tracer) -> None:
        self._inner = inner
        self._tracer = tracer

    def counter(self, name: str, description: str, labels: Sequence[str] = ()) -> Counter:
        return self._inner.counter(name, description, labels)

    def histogram(
        self, name: str, description: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> Histogram:
        return self._inner.histogram(name, description, labels, buckets)

    def gauge(self, name: str, description: str, labels: Sequence[str] = ()) -> Gauge:
        return self._inner.gauge(name, description, labels)

    @contextmanager
    def span(self, name: str, **attributes: AttributeValue) -> Iterator[Span]:
        attrs: dict[str, Any] | None = dict(attributes) if attributes else None
        with (
            self._inner.span(name, **attributes) as inner,
            self._tracer.start_as_current_span(
                name, attributes=attrs, record_exception=False, set_status_on_exception=False
            ) as span,
        ):
            traced = _TracedSpan(inner, span)
            try:
                yield traced
            except BaseException as error:
                traced.record_error(error)
                raise
