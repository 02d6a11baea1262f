"""The instrumentation interface: the Prometheus implementation records what core emits, the no-op one records
nothing and costs nothing to call, and a span records its outcome even when the block raises."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from shared.instrumentation import Instruments, NoInstruments
from shared.prometheus_instruments import PrometheusInstruments


def _emit(instruments: Instruments) -> None:
    """What a core module does: create once, bind labels once, then count, observe, set and time."""
    failures = instruments.counter("settle_failures", "Settlements given up", ["limit"]).labels("daily")
    latency = instruments.histogram("lookup_seconds", "Lookup latency", buckets=(0.1, 1.0))
    depth = instruments.gauge("queue_depth", "Waiting requests")
    failures.inc()
    failures.inc(2)
    latency.observe(0.05)
    depth.set(3)
    depth.inc()
    depth.dec(2)
    with instruments.span("upstream_call", provider="openai") as span:
        span.set_attribute("model", "gpt-4o-mini")
    with pytest.raises(ValueError, match="bad answer"), instruments.span("upstream_call") as span:
        span.record_error(ValueError("bad answer"))
        raise ValueError("bad answer")


def test_prometheus_instruments_record_on_their_registry_with_the_prefix() -> None:
    registry = CollectorRegistry()
    _emit(PrometheusInstruments(registry, prefix="bourse_test_"))
    sample = registry.get_sample_value
    assert sample("bourse_test_settle_failures_total", {"limit": "daily"}) == 3
    assert sample("bourse_test_lookup_seconds_count") == 1
    assert sample("bourse_test_lookup_seconds_bucket", {"le": "0.1"}) == 1
    assert sample("bourse_test_queue_depth") == 2
    assert sample("bourse_test_upstream_call_seconds_count", {"outcome": "ok"}) == 1
    assert sample("bourse_test_upstream_call_seconds_count", {"outcome": "error"}) == 1


def test_two_services_in_one_process_do_not_clash() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    _emit(PrometheusInstruments(first, prefix="bourse_a_"))
    _emit(PrometheusInstruments(second, prefix="bourse_a_"))
    assert first.get_sample_value("bourse_a_settle_failures_total", {"limit": "daily"}) == 3


def test_no_instruments_accept_every_call_and_record_nothing() -> None:
    _emit(NoInstruments())  # the same calls, no registry, no error
