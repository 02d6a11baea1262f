"""Live statistics per model and region from telemetry events."""

from __future__ import annotations

import random

import pytest

from services.router.core.selection.live_stats import LiveStats
from shared.events.schemas import AttemptRecord, TelemetryEvent
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import entry, manifest


def _stats() -> LiveStats:
    book = PriceBook.from_manifest(
        manifest(
            entry("a", "m", regions=["us-east", "eu-west"], latency_p50_ms=500.0, latency_p95_ms=1500.0, ttft_ms=300.0),
            entry("b", "n"),
        )
    )
    return LiveStats(book, half_life_s=60.0)


def _answer(latency: float, ts_ms: int, region: str = "us-east", ttft: float | None = None) -> TelemetryEvent:
    return TelemetryEvent(
        request_id=str(ts_ms),
        ts_ms=ts_ms,
        tenant="t",
        task_kind="chat",
        provider="a",
        model="m",
        region=region,
        served_from="remote",
        stream=ttft is not None,
        ttft_ms=ttft,
        attempts=[AttemptRecord(provider="a", model="m", served_from="remote", outcome="success", latency_ms=latency)],
    )


def test_manifest_defaults_until_traffic_is_seen() -> None:
    stats = _stats()
    assert stats.latency_ms("a", "m", "us-east") == (500.0, 1500.0)
    assert stats.ttft_ms("a", "m", "us-east") == 300.0
    assert stats.latency_ms("zz", "unknown", "") == (float("inf"), float("inf"))
    snapshot = stats.snapshot("a", "m")
    assert not snapshot.live and snapshot.error_rate == 0.0 and snapshot.samples == 0


def test_latency_and_ttft_per_model_and_region() -> None:
    stats = _stats()
    for index in range(50):
        stats.observe(_answer(100.0 + index, 1_000_000 + index, "us-east", ttft=40.0))
        stats.observe(_answer(900.0 + index, 1_000_000 + index, "eu-west"))
    us_p50, us_p95 = stats.latency_ms("a", "m", "us-east")
    eu_p50, _ = stats.latency_ms("a", "m", "eu-west")
    assert us_p50 == pytest.approx(125, rel=0.03) and us_p95 == pytest.approx(147, rel=0.03)
    assert eu_p50 == pytest.approx(925, rel=0.03)
    # The model-wide figures mix both regions; a region without its own samples falls back to them.
    assert stats.latency_ms("a", "m", "ap-south") == stats.latency_ms("a", "m", "")
    assert stats.ttft_ms("a", "m", "us-east") == pytest.approx(40.0, rel=0.03)
    assert stats.snapshot("a", "m", "us-east").live


def test_error_and_rate_limit_rates_count_every_attempt() -> None:
    stats = _stats()
    for index in range(40):
        failed = index % 4 == 0
        attempts = [
            AttemptRecord(
                provider="b",
                model="n",
                served_from="remote",
                outcome="error" if failed else "success",
                error_reason="RATE_LIMITED" if failed else "",
                latency_ms=50.0,
            )
        ]
        if failed:  # failover answered on a/m
            attempts.append(
                AttemptRecord(provider="a", model="m", served_from="remote", outcome="success", latency_ms=300)
            )
        stats.observe(
            TelemetryEvent(
                request_id=str(index),
                ts_ms=1_000_000 + index,
                tenant="t",
                task_kind="chat",
                provider="a" if failed else "b",
                model="m" if failed else "n",
                served_from="remote",
                attempts=attempts,
            )
        )
    assert stats.error_rate("b", "n") == pytest.approx(0.25, abs=0.01)
    assert stats.rate_limit_rate("b", "n") == pytest.approx(0.25, abs=0.01)
    assert stats.error_rate("a", "m") == 0.0 and stats.snapshot("a", "m").samples == 10


def test_events_without_attempts_and_ignored_ones() -> None:
    stats = _stats()
    for index in range(5):
        stats.observe(
            TelemetryEvent(
                request_id=str(index),
                ts_ms=index,
                tenant="t",
                task_kind="chat",
                provider="b",
                model="n",
                served_from="remote",
                upstream_ms=700.0,
                latency_ms=710.0,
            )
        )
    assert stats.latency_ms("b", "n", "")[0] == pytest.approx(700.0, rel=0.03)
    # Cache and local answers, cancelled hedges and unknown models leave the remote figures alone.
    stats.observe(
        TelemetryEvent(
            request_id="x",
            ts_ms=10,
            tenant="t",
            task_kind="chat",
            provider="zz",
            model="unknown",
            served_from="remote",
            attempts=[
                AttemptRecord(provider="zz", model="unknown", served_from="remote", outcome="success", latency_ms=1),
                AttemptRecord(provider="a", model="m", served_from="remote", outcome="cancelled", latency_ms=9999),
                AttemptRecord(provider="cache", model="", served_from="cache", outcome="miss"),
            ],
        )
    )
    assert stats.ignored == 1 and stats.snapshot("a", "m").samples == 0


def test_replicas_seeing_events_in_different_orders_agree() -> None:
    events = [_answer(random.Random(i).uniform(50, 2000), 1_000_000 + i * 500) for i in range(300)]
    first, second = _stats(), _stats()
    for event in events:
        first.observe(event)
    for event in reversed(events):
        second.observe(event)
    a, b = first.snapshot("a", "m", "us-east"), second.snapshot("a", "m", "us-east")
    assert a.p50_ms == pytest.approx(b.p50_ms, rel=1e-9) and a.p95_ms == pytest.approx(b.p95_ms, rel=1e-9)


def test_regions_per_model_are_bounded() -> None:
    stats = _stats()
    for index in range(100):
        stats.observe(_answer(100.0, index, region=f"junk-{index}"))
    assert len(stats._stats) <= 1 + 16
