"""Circuit breaker per (provider, model) with half-open probes, and the Availability the Selector consults."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from services.router.core.backoff import RetryAfterBook


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class _Circuit:
    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    probes_in_flight: int = 0


class CircuitBreakers:
    """Opens after `failure_threshold` consecutive failures; after `open_s` lets `half_open_probes` requests
    through; a probe's success closes the circuit, its failure opens it again for another `open_s`."""

    def __init__(self, *, failure_threshold: int = 5, open_s: float = 30.0, half_open_probes: int = 1) -> None:
        self._threshold = max(1, failure_threshold)
        self._open_s = open_s
        self._probes = max(1, half_open_probes)
        self._circuits: dict[tuple[str, str], _Circuit] = {}

    def state(self, provider: str, model: str, now: float) -> CircuitState:
        circuit = self._circuits.get((provider, model))
        if circuit is None:
            return CircuitState.CLOSED
        if circuit.state is CircuitState.OPEN and now - circuit.opened_at >= self._open_s:
            circuit.state = CircuitState.HALF_OPEN
            circuit.probes_in_flight = 0
        return circuit.state

    def allows(self, provider: str, model: str, now: float) -> bool:
        """Whether a request may be sent now (a half-open circuit admits a bounded number of probes)."""
        state = self.state(provider, model, now)
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        return self._circuits[(provider, model)].probes_in_flight < self._probes

    def on_attempt(self, provider: str, model: str, now: float) -> None:
        """Call when an attempt starts; counts half-open probes."""
        if self.state(provider, model, now) is CircuitState.HALF_OPEN:
            self._circuits[(provider, model)].probes_in_flight += 1

    def on_success(self, provider: str, model: str) -> None:
        circuit = self._circuits.get((provider, model))
        if circuit is not None:
            circuit.state = CircuitState.CLOSED
            circuit.consecutive_failures = 0
            circuit.probes_in_flight = 0

    def on_failure(self, provider: str, model: str, now: float) -> None:
        circuit = self._circuits.setdefault((provider, model), _Circuit())
        circuit.consecutive_failures += 1
        if circuit.state is CircuitState.HALF_OPEN or circuit.consecutive_failures >= self._threshold:
            circuit.state = CircuitState.OPEN
            circuit.opened_at = now
            circuit.probes_in_flight = 0


class ModelAvailability:
    """The Selector's Availability: circuit state and Retry-After blocks (see core/selection.py)."""

    def __init__(self, circuits: CircuitBreakers, retry_after: RetryAfterBook) -> None:
        self.circuits = circuits
        self.retry_after = retry_after

    def unavailable_reason(self, provider: str, model: str, now: float) -> str | None:
        if self.retry_after.blocked_until(provider, model, now) is not None:
            return "retry_after"
        if not self.circuits.allows(provider, model, now):
            return "circuit_open"
        return None
