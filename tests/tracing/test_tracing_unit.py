"""Tracing in one process (the SDK's in-memory exporter) and in a real service process (a loopback OTLP receiver):
the on/off switch, the span interface core uses, configuration errors, and the lifecycle's wiring by OTEL_*."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import prometheus_client
import pytest
import structlog
from aiohttp import web
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from services.router.core.execution.route_spans import attempt_reason
from services.router.core.execution.route_types import RouteOutcome
from services.router.core.resilience.failover import AttemptResult
from shared.errors import Reason, UpstreamError
from shared.http_tracing import tracing_middleware
from shared.instrumentation import NoInstruments
from shared.processes import free_port
from shared.prometheus_instruments import PrometheusInstruments
from shared.tracing import Tracing, TracingConfigError, current_trace_id
from shared.tracing_switch import tracing_from_env, tracing_requested
from tests.tracing.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def memory() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracing = Tracing("unit", SimpleSpanProcessor(exporter))
    yield tracing, exporter
    tracing.provider.shutdown()


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}, False),  # no exporter asked for
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_asked_for(environ: dict[str, str], on: bool) -> None:
    assert tracing_requested(environ) is on
    if not on:
        assert tracing_from_env("unit", environ) is None


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_an_exporter_this_build_lacks_is_a_clear_error(environ: dict[str, str]) -> None:
    with pytest.raises(TracingConfigError, match="OTEL_"):
        tracing_from_env("unit", environ)


def test_spans_nest_and_carry_attributes_and_metrics_still_count(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = memory
    registry = prometheus_client.CollectorRegistry()
    instruments = tracing.instruments(PrometheusInstruments(registry, prefix="unit_"))
    with instruments.span("route", **{"bourse.request_id": "r1"}) as outer:
        outer.set_attribute("gen_ai.operation.name", "chat")
        with instruments.span("provider_attempt") as inner:
            inner.set_attribute("gen_ai.usage.output_tokens", 7)
    attempt, route = exporter.get_finished_spans()
    assert attempt.parent is not None and attempt.parent.span_id == route.context.span_id
    assert dict(route.attributes or {}) == {"bourse.request_id": "r1", "gen_ai.operation.name": "chat"}
    assert attempt.attributes == {"gen_ai.usage.output_tokens": 7}
    assert route.resource.attributes["service.name"] == "bourse-unit"
    # The inner (Prometheus) instruments still time the span.
    assert registry.get_sample_value("unit_route_seconds_count", {"outcome": "ok"}) == 1.0
    assert instruments.counter("calls_total", "calls") is not None


def test_an_error_leaving_a_span_is_recorded_once_with_its_reason(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = memory
    instruments = tracing.instruments(NoInstruments())
    error = UpstreamError("provider error (HTTP 500)", reason=Reason.UPSTREAM_5XX)
    with pytest.raises(UpstreamError), instruments.span("upstream_call") as span:
        span.record_error(error)  # as the adapter does before re-raising
        raise error
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.attributes is not None and finished.attributes["bourse.error.reason"] == "UPSTREAM_5XX"
    assert [event.name for event in finished.events] == ["exception"]


async def test_a_cancelled_span_is_marked_cancelled_not_failed(memory: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = memory
    instruments = tracing.instruments(NoInstruments())
    started = asyncio.Event()

    async def leg() -> None:
        with instruments.span("provider_attempt"):
            started.set()
            await asyncio.sleep(30)

    task = asyncio.ensure_future(leg())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.UNSET
    assert finished.attributes is not None and finished.attributes["bourse.attempt.outcome"] == "cancelled"


def test_trace_context_round_trips_and_a_malformed_one_is_ignored(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = memory
    carrier: dict[str, str] = {}
    with tracing.tracer.start_as_current_span("client"):
        trace_id = current_trace_id()
        tracing.inject(carrier)
    assert carrier["traceparent"].split("-")[1] == trace_id
    with tracing.server_span("server", tracing.extract(carrier), {}):
        assert current_trace_id() == trace_id
    with tracing.server_span("server", tracing.extract({"traceparent": "00-zz-01"}), {}):
        fresh = current_trace_id()
    assert fresh and fresh != trace_id
    assert current_trace_id() == ""  # outside any span
    assert len(exporter.get_finished_spans()) == 3


async def test_the_http_middleware_puts_the_trace_id_in_the_log_context(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = memory
    seen: dict[str, object] = {}

    async def handler(_request: web.Request) -> web.Response:
        seen.update(structlog.contextvars.get_contextvars())
        return web.json_response({}, headers={"x-request-id": "req-7"})

    app = web.Application(middlewares=[tracing_middleware(tracing)])
    app.router.add_post("/v1/things", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as session, session.post(f"http://127.0.0.1:{port}/v1/things") as response:
            assert response.status == 200
    finally:
        await runner.cleanup()
    (span,) = exporter.get_finished_spans()
    assert seen["trace_id"] == format(span.context.trace_id, "032x")
    assert span.name == "POST /v1/things"
    assert span.attributes is not None and span.attributes["bourse.request_id"] == "req-7"


def _sigterm(child: subprocess.Popen[str]) -> str:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    _out, err = child.communicate(timeout=30)
    return err


async def test_a_service_process_traces_when_otel_variables_are_set() -> None:
    """`python -m services.simulator` with OTEL_EXPORTER_OTLP_ENDPOINT exports its spans to the receiver."""
    receiver = OtlpReceiver()
    await receiver.start()
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOURSE_SIMULATOR_", "OTEL_"))}
    env = {
        **base,
        "BOURSE_SIMULATOR_LISTEN": f"127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_SERVICE_NAME": "sim-under-test",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "services.simulator"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    try:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}/openai/v1/chat/completions",
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
                    ) as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    assert child.poll() is None, child.communicate()[1]
                    assert time.monotonic() < deadline, "the simulator did not start"
                    await asyncio.sleep(0.1)
        # SIGTERM: the lifecycle stops the service, whose last step flushes the batch of spans.
        err = await asyncio.to_thread(_sigterm, child)
        assert child.returncode == 0, err
        (span,) = await receiver.wait_for(trace_id, bool)
        assert span.service == "sim-under-test"
        assert span.name == "POST /{provider}/v1/chat/completions"
        assert span.parent_id == "00f067aa0ba902b7"
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
        await receiver.stop()


def test_an_unsupported_exporter_stops_a_service_at_start_with_exit_2() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOURSE_SIMULATOR_", "OTEL_"))}
    child = subprocess.run(
        [sys.executable, "-m", "services.simulator"],
        env={**base, "BOURSE_SIMULATOR_LISTEN": "127.0.0.1:0", "OTEL_TRACES_EXPORTER": "jaeger"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 2
    assert child.stderr.startswith("simulator: ") and "OTEL_TRACES_EXPORTER" in child.stderr


@pytest.mark.parametrize(
    ("attempts", "reason"),
    [
        ([], "first"),
        ([("cache", "cache", "miss")], "first"),  # a cache miss is not a remote attempt
        ([("openai", "remote", "error")], "failover"),
        ([("openai", "remote", "invalid_output")], "escalation"),
        ([("openai", "remote", "invalid_output"), ("groq", "remote", "error")], "failover"),
    ],
)
def test_the_attempt_reason_follows_the_attempts_so_far(attempts: list[tuple[str, str, str]], reason: str) -> None:
    outcome = RouteOutcome(request_id="r", tenant="t", key_id="", task_kind="chat", stream=False, metadata={})
    outcome.attempts.extend(AttemptResult(p, "m", served, result) for p, served, result in attempts)
    assert attempt_reason(outcome) == reason
