"""The quantile sketch is accurate within its relative error, bounded in memory, decays, and is order-free."""

from __future__ import annotations

import math
import random

import pytest

from services.router.core.selection.latency_sketch import DecayingQuantileSketch, DecayingRate


def _exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def test_quantiles_within_relative_accuracy() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(6.5, 0.8) for _ in range(20_000)]
    sketch = DecayingQuantileSketch(half_life_s=1e9, relative_accuracy=0.02)
    for value in values:
        sketch.add(value, 0.0)
    for q in (0.5, 0.9, 0.95, 0.99):
        assert sketch.quantile(q) == pytest.approx(_exact(values, q), rel=0.021)
    assert sketch.quantiles((0.5, 0.95)) == (sketch.quantile(0.5), sketch.quantile(0.95))


def test_memory_is_bounded_whatever_the_traffic() -> None:
    rng = random.Random(1)
    sketch = DecayingQuantileSketch()
    for _ in range(50_000):
        sketch.add(10 ** rng.uniform(-3, 8), rng.uniform(0, 10))
    assert len(sketch) <= sketch.max_buckets < 1000
    assert sketch.count == 50_000


def test_old_samples_fade() -> None:
    sketch = DecayingQuantileSketch(half_life_s=10.0)
    for index in range(100):
        sketch.add(1000.0, index * 0.01)
    for index in range(100):
        sketch.add(100.0, 100.0 + index * 0.01)  # ten half-lives later
    assert sketch.quantile(0.95) == pytest.approx(100.0, rel=0.03)


def test_landmark_moves_keep_results_finite_and_unchanged() -> None:
    steady = DecayingQuantileSketch(half_life_s=1.0)
    for index in range(2000):
        steady.add(200.0 + index % 7, index * 0.1)  # 200 half-lives: several renormalisations
    assert math.isfinite(steady.quantile(0.5)) and steady.quantile(0.5) == pytest.approx(203.0, rel=0.03)


def test_result_does_not_depend_on_arrival_order() -> None:
    rng = random.Random(3)
    samples = [(rng.uniform(10, 3000), rng.uniform(0, 600)) for _ in range(2000)]
    first, second = DecayingQuantileSketch(), DecayingQuantileSketch()
    for value, at in samples:
        first.add(value, at)
    rng.shuffle(samples)
    for value, at in samples:
        second.add(value, at)
    for q in (0.5, 0.95):
        assert first.quantile(q) == pytest.approx(second.quantile(q), rel=1e-9)


def test_empty_invalid_and_extreme_values() -> None:
    sketch = DecayingQuantileSketch()
    assert math.isnan(sketch.quantile(0.5)) and all(math.isnan(v) for v in sketch.quantiles((0.5, 0.9)))
    sketch.add(float("nan"), 0.0)
    sketch.add(5.0, float("inf"))
    assert sketch.count == 0
    sketch.add(0.0, 0.0)
    sketch.add(1e12, 0.0)
    assert sketch.quantile(0.0) == pytest.approx(0.01) and sketch.quantile(1.0) <= 3_600_000.0 * 1.03
    with pytest.raises(ValueError, match="invalid sketch"):
        DecayingQuantileSketch(relative_accuracy=0.0)


def test_decaying_rate() -> None:
    rate = DecayingRate(half_life_s=10.0)
    assert rate.value == 0.0
    for index in range(100):
        rate.add(True, index * 0.01)
    for index in range(100):
        rate.add(False, 200.0 + index * 0.01)  # twenty half-lives later
    assert rate.value < 0.01
    rate.add(True, float("nan"))
    for index in range(5000):
        rate.add(index % 4 == 0, 300.0 + index)  # renormalises on the way
    assert rate.value == pytest.approx(0.25, abs=0.05)
