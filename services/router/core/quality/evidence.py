"""Outcome evidence per (tenant, task kind, model): exponentially decayed Beta counts.

Forward decay: a count observed at time t weighs exp(-(now - t) / tau) at `now`, whatever order the events
arrive in, so replicas reading the same evidence stream hold the same counts (up to float rounding). Each key
keeps its counts at its latest event time and decays them on read. Memory is bounded: past `max_keys` keys the
least recently updated one is forgotten (its weight is the smallest or it is idle).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

EvidenceKey = tuple[str, str, str]  # (tenant, task kind, "provider/model")


@dataclass(slots=True)
class _Counts:
    successes: float
    failures: float
    at_s: float  # the time the counts are expressed at


@dataclass(frozen=True, slots=True)
class Counts:
    successes: float
    failures: float

    @property
    def total(self) -> float:
        return self.successes + self.failures


NO_COUNTS = Counts(0.0, 0.0)


class EvidenceBook:
    def __init__(self, *, half_life_s: float, max_keys: int) -> None:
        if half_life_s <= 0 or max_keys <= 0:
            raise ValueError("half_life_s and max_keys must be positive")
        self._tau = half_life_s / math.log(2.0)
        self._max_keys = max_keys
        self._counts: OrderedDict[EvidenceKey, _Counts] = OrderedDict()
        self._models: dict[tuple[str, str], set[str]] = {}  # (tenant, task kind) -> models with evidence
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._counts)

    def add(self, key: EvidenceKey, *, successes: float, failures: float, at_s: float) -> None:
        """Add evidence observed at `at_s` (seconds, any clock shared by the replicas: event timestamps)."""
        if not (math.isfinite(successes) and math.isfinite(failures) and successes >= 0 and failures >= 0):
            raise ValueError("evidence counts must be finite and non-negative")
        current = self._counts.get(key)
        if current is None:
            self._counts[key] = _Counts(successes, failures, at_s)
            self._models.setdefault(key[:2], set()).add(key[2])
            if len(self._counts) > self._max_keys:
                (tenant, kind, model), _ = self._counts.popitem(last=False)
                models = self._models[(tenant, kind)]
                models.discard(model)
                if not models:
                    del self._models[(tenant, kind)]
                self.evicted += 1
            return
        self._counts.move_to_end(key)
        if at_s >= current.at_s:
            weight = math.exp(-(at_s - current.at_s) / self._tau)
            current.successes = current.successes * weight + successes
            current.failures = current.failures * weight + failures
            current.at_s = at_s
        else:
            weight = math.exp(-(current.at_s - at_s) / self._tau)
            current.successes += successes * weight
            current.failures += failures * weight

    def models_with_evidence(self, tenant: str, task_kind: str) -> frozenset[str]:
        models = self._models.get((tenant, task_kind))
        return frozenset(models) if models else frozenset()

    def counts(self, key: EvidenceKey, now_s: float) -> Counts:
        current = self._counts.get(key)
        if current is None:
            return NO_COUNTS
        weight = math.exp(-max(now_s - current.at_s, 0.0) / self._tau)
        return Counts(current.successes * weight, current.failures * weight)

    def snapshot(self, now_s: float) -> dict[EvidenceKey, Counts]:
        return {key: self.counts(key, now_s) for key in self._counts}
