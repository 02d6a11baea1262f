"""A streaming quantile sketch with bounded memory and exponential time decay.

Values go into logarithmic buckets (relative accuracy `relative_accuracy`, as in DDSketch), so memory is
bounded by the number of buckets between `min_value` and `max_value` whatever the traffic. Time decay is
"forward decay": a sample at time t weighs 2^((t - landmark) / half_life), so recent samples dominate and the
result does not depend on the order in which samples arrive (replicas that see the same events agree). The
landmark moves forward now and then and every weight is rescaled, which keeps the numbers finite.
"""

from __future__ import annotations

import math

_RENORMALIZE_EXPONENT = 60.0  # rescale before weights reach 2^60


class DecayingQuantileSketch:
    __slots__ = (
        "_buckets",
        "_gamma_log",
        "_landmark",
        "_max_index",
        "_min_value",
        "_rate",
        "_total",
        "count",
    )

    def __init__(
        self,
        *,
        half_life_s: float = 300.0,
        relative_accuracy: float = 0.02,
        min_value: float = 0.01,
        max_value: float = 3_600_000.0,
    ) -> None:
        if not 0.0 < relative_accuracy < 1.0 or half_life_s <= 0.0 or not 0.0 < min_value < max_value:
            raise ValueError("invalid sketch parameters")
        gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._gamma_log = math.log(gamma)
        self._min_value = min_value
        self._max_index = math.ceil(math.log(max_value / min_value) / self._gamma_log)
        self._rate = math.log(2.0) / half_life_s
        self._landmark: float | None = None
        self._buckets: dict[int, float] = {}
        self._total = 0.0
        self.count = 0  # samples ever added (not decayed)

    @property
    def max_buckets(self) -> int:
        return self._max_index + 1

    def __len__(self) -> int:
        return len(self._buckets)

    def add(self, value: float, at_s: float) -> None:
        if not math.isfinite(value) or not math.isfinite(at_s):
            return
        if self._landmark is None:
            self._landmark = at_s
        exponent = (at_s - self._landmark) * self._rate
        if exponent > _RENORMALIZE_EXPONENT:
            self._move_landmark(at_s)
            exponent = 0.0
        weight = math.exp(exponent)
        index = self._index(value)
        self._buckets[index] = self._buckets.get(index, 0.0) + weight
        self._total += weight
        self.count += 1

    def quantile(self, q: float) -> float:
        """The value below which a fraction q of the decayed weight lies (NaN when empty)."""
        if not self._buckets or self._total <= 0.0:
            return math.nan
        target = min(max(q, 0.0), 1.0) * self._total
        running = 0.0
        keys = sorted(self._buckets)
        for index in keys:
            running += self._buckets[index]
            if running >= target:
                return self._value(index)
        return self._value(keys[-1])

    def quantiles(self, qs: tuple[float, ...]) -> tuple[float, ...]:
        """Several quantiles in one pass over the buckets (qs ascending)."""
        if not self._buckets or self._total <= 0.0:
            return tuple(math.nan for _ in qs)
        out: list[float] = []
        targets = [min(max(q, 0.0), 1.0) * self._total for q in qs]
        running = 0.0
        position = 0
        keys = sorted(self._buckets)
        for index in keys:
            running += self._buckets[index]
            while position < len(targets) and running >= targets[position]:
                out.append(self._value(index))
                position += 1
            if position == len(targets):
                break
        while len(out) < len(qs):
            out.append(self._value(keys[-1]))
        return tuple(out)

    def _index(self, value: float) -> int:
        if value <= self._min_value:
            return 0
        return min(math.ceil(math.log(value / self._min_value) / self._gamma_log), self._max_index)

    def _value(self, index: int) -> float:
        # Midpoint (in relative terms) of the bucket (min * gamma^(i-1), min * gamma^i].
        if index == 0:
            return self._min_value
        upper = self._min_value * math.exp(index * self._gamma_log)
        return upper * 2.0 / (1.0 + math.exp(self._gamma_log))

    def _move_landmark(self, at_s: float) -> None:
        assert self._landmark is not None
        scale = math.exp((self._landmark - at_s) * self._rate)
        self._landmark = at_s
        kept: dict[int, float] = {}
        for index, weight in self._buckets.items():
            scaled = weight * scale
            if scaled > 1e-300:
                kept[index] = scaled
        self._buckets = kept
        self._total *= scale


class DecayingRate:
    """Forward-decayed fraction of events that were `hits` (error rate, rate-limit rate)."""

    __slots__ = ("_hits", "_landmark", "_rate", "_total")

    def __init__(self, *, half_life_s: float = 300.0) -> None:
        self._rate = math.log(2.0) / half_life_s
        self._landmark: float | None = None
        self._hits = 0.0
        self._total = 0.0

    def add(self, hit: bool, at_s: float) -> None:
        if not math.isfinite(at_s):
            return
        if self._landmark is None:
            self._landmark = at_s
        exponent = (at_s - self._landmark) * self._rate
        if exponent > _RENORMALIZE_EXPONENT:
            scale = math.exp(-exponent)
            self._hits *= scale
            self._total *= scale
            self._landmark = at_s
            exponent = 0.0
        weight = math.exp(exponent)
        self._total += weight
        if hit:
            self._hits += weight

    @property
    def value(self) -> float:
        return self._hits / self._total if self._total > 0.0 else 0.0
