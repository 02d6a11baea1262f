"""Per-namespace acceptance: which semantic mode a namespace runs, and how reported bad hits make it stricter.

Modes are `off`, `strict` (the default) and `balanced`; a namespace id or a tenant id may name its own mode.

A reported bad hit raises its namespace's verifier threshold above the score the bad hit was served at, so the same
kind of mistake is not served again there. The operator's error bound (`bad_hit_error_bound`, say 0.01) then
decides how far down the threshold may come back: as in vCache (arXiv 2502.03771), a threshold is kept only when
the served hits at or above it show an error rate whose upper confidence bound (Wilson, 95%) is within the bound;
hits served and never reported count as correct. Until the namespace has that much evidence the threshold stays
just above its highest bad score. Idempotent: a report replayed from the event log changes nothing twice.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from services.cache.core.verifier import MODES

Z95 = 1.96
STEP = 0.01  # how far above a bad hit's score the threshold moves
SERVED_MEMORY = 1000  # served hits remembered per namespace
ENTRY_MEMORY = 100_000  # entry key -> (namespace, score) of its last semantic serve, for reports


def wilson_upper(bad: int, total: int) -> float:
    if total == 0:
        return 1.0
    p = bad / total
    centre = p + Z95 * Z95 / (2 * total)
    spread = Z95 * math.sqrt(p * (1 - p) / total + Z95 * Z95 / (4 * total * total))
    return (centre + spread) / (1 + Z95 * Z95 / total)


def check_mode(mode: str, field_name: str) -> None:
    if mode not in MODES:
        raise ValueError(f"{field_name}: unknown semantic mode {mode!r}; known: {', '.join(MODES)}")


@dataclass
class _Namespace:
    served: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=SERVED_MEMORY))
    bad: dict[str, float] = field(default_factory=dict)  # entry key -> score it was served at
    threshold: float = 0.0


class Acceptance:
    def __init__(self, *, default_mode: str, modes: dict[str, str], error_bound: float) -> None:
        check_mode(default_mode, "semantic_mode")
        for key, mode in modes.items():
            check_mode(mode, f"semantic_modes[{key!r}]")
        if not 0.0 < error_bound < 1.0:
            raise ValueError("bad_hit_error_bound must be in (0, 1)")
        self.default_mode = default_mode
        self.modes = dict(modes)
        self.error_bound = error_bound
        self._namespaces: dict[str, _Namespace] = {}
        self._last_serve: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def mode(self, namespace: str, tenant: str) -> str:
        return self.modes.get(namespace) or self.modes.get(tenant) or self.default_mode

    def threshold(self, namespace: str, base: float) -> float:
        """The verifier threshold in force: the mode's, or higher after bad hits (above 1 means no semantic hit)."""
        state = self._namespaces.get(namespace)
        return base if state is None else max(base, state.threshold)

    def served(self, namespace: str, entry_key: str, score: float) -> None:
        self._namespaces.setdefault(namespace, _Namespace()).served.append((entry_key, score))
        self._last_serve[entry_key] = (namespace, score)
        self._last_serve.move_to_end(entry_key)
        while len(self._last_serve) > ENTRY_MEMORY:
            self._last_serve.popitem(last=False)

    def last_serve(self, entry_key: str) -> tuple[str, float] | None:
        return self._last_serve.get(entry_key)

    def bad_hit(self, namespace: str, entry_key: str, score: float) -> float:
        """Record a reported bad hit served at `score`; returns the namespace's new threshold."""
        state = self._namespaces.setdefault(namespace, _Namespace())
        state.bad[entry_key] = score
        state.threshold = self._learn(state)
        return state.threshold

    def _learn(self, state: _Namespace) -> float:
        ceiling = max(state.bad.values()) + STEP
        # The lowest threshold whose served hits at or above it keep the error bound; else above every bad hit.
        for candidate in sorted({s for _, s in state.served} | {s + STEP for s in state.bad.values()}):
            if candidate >= ceiling:
                break
            above = [key for key, s in state.served if s >= candidate]
            bad = sum(1 for key in above if key in state.bad)
            if above and wilson_upper(bad, len(above)) <= self.error_bound:
                return candidate
        return ceiling
