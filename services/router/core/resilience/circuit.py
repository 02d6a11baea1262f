"""Circuit breaker per (provider, model) with half-open probes, and the Availability the Selector consults.

A listener learns when a circuit opens or closes here, so other replicas can apply it (`apply_remote_*`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from services.router.core.resilience.backoff import RetryAfterBook
from services.router.core.resilience.headroom import RateLimitHeadroom


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class CircuitAnnounced:
    """A circuit this replica opened (for `open_s` from the announcement) or closed (a probe succeeded)."""

    provider: str
    model: str
    opened: bool
    open_s: float = 0.0  # relative to the moment of the announcement: receivers add it to their own clock


CircuitListener = Callable[[CircuitAnnounced], None]


@dataclass(slots=True)
class _Circuit:
    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    open_until: float = 0.0
    probes_in_flight: int = 0


class CircuitBreakers:
    """Opens after `failure_threshold` consecutive failures; after `open_s` lets `half_open_probes` requests
    through; a probe's success closes the circuit, its failure opens it again for another `open_s`."""

    def __init__(self, *, failure_threshold: int = 5, open_s: float = 30.0, half_open_probes: int = 1) -> None:
        self._threshold = max(1, failure_threshold)
        self._open_s = open_s
        self._probes = max(1, half_open_probes)
        self._circuits: dict[tuple[str, str], _Circuit] = {}
        self._listener: CircuitListener | None = None

    def set_listener(self, listener: CircuitListener | None) -> None:
        """Called (synchronously, so it must only enqueue) when a circuit opens or closes on this replica."""
        self._listener = listener

    def state(self, provider: str, model: str, now: float) -> CircuitState:
        circuit = self._circuits.get((provider, model))
        if circuit is None:
            return CircuitState.CLOSED
        if circuit.state is CircuitState.OPEN and now >= circuit.open_until:
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
            was_closed = circuit.state is CircuitState.CLOSED
            circuit.state = CircuitState.CLOSED
            circuit.consecutive_failures = 0
            circuit.probes_in_flight = 0
            if not was_closed and self._listener is not None:
                self._listener(CircuitAnnounced(provider, model, opened=False))

    def on_failure(self, provider: str, model: str, now: float) -> None:
        circuit = self._circuits.setdefault((provider, model), _Circuit())
        circuit.consecutive_failures += 1
        if circuit.state is CircuitState.HALF_OPEN or circuit.consecutive_failures >= self._threshold:
            was_open = circuit.state is CircuitState.OPEN and now < circuit.open_until
            circuit.state = CircuitState.OPEN
            circuit.open_until = max(circuit.open_until, now + self._open_s)
            circuit.probes_in_flight = 0
            if not was_open and self._listener is not None:
                self._listener(CircuitAnnounced(provider, model, opened=True, open_s=self._open_s))

    def apply_remote_open(self, provider: str, model: str, open_s: float, now: float) -> bool:
        """Another replica opened this circuit for `open_s` (on this replica's clock). Never shortens an open
        period; afterwards this replica probes on its own. Returns whether anything changed."""
        until = now + max(open_s, 0.0)
        circuit = self._circuits.setdefault((provider, model), _Circuit())
        if self.state(provider, model, now) is CircuitState.OPEN and circuit.open_until >= until:
            return False
        circuit.state = CircuitState.OPEN
        circuit.open_until = max(circuit.open_until, until)
        circuit.probes_in_flight = 0
        return True

    def apply_remote_closed(self, provider: str, model: str, now: float) -> bool:
        """Another replica's probe succeeded. Closes a circuit only once its open period is over here (half-open),
        so the news spares this replica its own probe but never cuts an open period short."""
        circuit = self._circuits.get((provider, model))
        if circuit is None or self.state(provider, model, now) is not CircuitState.HALF_OPEN:
            return False
        circuit.state = CircuitState.CLOSED
        circuit.consecutive_failures = 0
        circuit.probes_in_flight = 0
        return True


class ModelAvailability:
    """The Selector's Availability: circuit state, Retry-After blocks and rate-limit headroom."""

    def __init__(
        self, circuits: CircuitBreakers, retry_after: RetryAfterBook, headroom: RateLimitHeadroom | None = None
    ) -> None:
        self.circuits = circuits
        self.retry_after = retry_after
        self.headroom = headroom

    def unavailable_reason(self, provider: str, model: str, now: float) -> str | None:
        if self.retry_after.blocked_until(provider, model, now) is not None:
            return "retry_after"
        if not self.circuits.allows(provider, model, now):
            return "circuit_open"
        if self.headroom is not None and self.headroom.exhausted(provider, model, now):
            return "rate_limit_headroom"
        return None
