"""Circuit breaker per (provider, model) with half-open probes; Retry-After blocks; what errors teach."""

from __future__ import annotations

from dataclasses import dataclass

from services.router.core.resilience.backoff import RetryAfterBook
from services.router.core.resilience.circuit import CircuitBreakers, CircuitState, ModelAvailability
from services.router.core.resilience.failover import FailoverPolicy
from shared.errors import UpstreamError


def test_opens_after_consecutive_failures_only() -> None:
    breakers = CircuitBreakers(failure_threshold=3, open_s=10)
    breakers.on_failure("p", "m", 0)
    breakers.on_failure("p", "m", 0)
    breakers.on_success("p", "m")  # a success resets the count
    breakers.on_failure("p", "m", 1)
    breakers.on_failure("p", "m", 1)
    assert breakers.state("p", "m", 1) is CircuitState.CLOSED
    breakers.on_failure("p", "m", 2)
    assert breakers.state("p", "m", 2) is CircuitState.OPEN
    assert not breakers.allows("p", "m", 5)
    assert breakers.allows("p", "other", 5)  # per model


def test_half_open_admits_bounded_probes_and_success_closes() -> None:
    breakers = CircuitBreakers(failure_threshold=1, open_s=10, half_open_probes=1)
    breakers.on_failure("p", "m", 0)
    assert not breakers.allows("p", "m", 9.9)
    assert breakers.allows("p", "m", 10)
    assert breakers.state("p", "m", 10) is CircuitState.HALF_OPEN
    breakers.on_attempt("p", "m", 10)
    assert not breakers.allows("p", "m", 10.1)  # the one probe is in flight
    breakers.on_success("p", "m")
    assert breakers.state("p", "m", 10.2) is CircuitState.CLOSED
    assert breakers.allows("p", "m", 10.2)


def test_failed_probe_reopens() -> None:
    breakers = CircuitBreakers(failure_threshold=5, open_s=10)
    for _ in range(5):
        breakers.on_failure("p", "m", 0)
    breakers.on_attempt("p", "m", 10)
    breakers.on_failure("p", "m", 10.5)
    assert breakers.state("p", "m", 11) is CircuitState.OPEN
    assert not breakers.allows("p", "m", 20.4)
    assert breakers.allows("p", "m", 20.5)


def test_retry_after_blocks_model_or_whole_provider() -> None:
    book = RetryAfterBook()
    book.record("p", "m", 30, now=100)
    assert book.blocked_until("p", "m", 110) == 130
    assert book.blocked_until("p", "m", 130) is None
    assert book.blocked_until("p", "other", 110) is None
    book.record("q", "x", 5, now=0, whole_provider=True)
    assert book.blocked_until("q", "y", 1) == 5


def test_availability_names_the_constraint() -> None:
    breakers, book = CircuitBreakers(failure_threshold=1, open_s=10), RetryAfterBook()
    availability = ModelAvailability(breakers, book)
    assert availability.unavailable_reason("p", "m", 0) is None
    book.record("p", "m", 5, now=0)
    assert availability.unavailable_reason("p", "m", 1) == "retry_after"
    breakers.on_failure("q", "m", 0)
    assert availability.unavailable_reason("q", "m", 1) == "circuit_open"


@dataclass(frozen=True)
class _M:
    provider: str
    model: str


def _policy() -> FailoverPolicy:
    return FailoverPolicy(CircuitBreakers(failure_threshold=2, open_s=10), RetryAfterBook(), default_retry_after_s=3)


def test_next_candidate_prefers_a_provider_that_has_not_failed() -> None:
    policy = _policy()
    remaining = [_M("a", "a2"), _M("a", "a3"), _M("b", "b1")]
    assert policy.pick_next(remaining, {"a"}, 0) == 2
    assert policy.pick_next(remaining, {"a", "b"}, 0) == 0  # all failed: cheapest usable
    assert policy.pick_next(remaining, set(), 0) == 0


def test_rate_limit_records_retry_after_and_skips_the_model() -> None:
    policy = _policy()
    policy.on_error("a", "a1", UpstreamError("429", reason="RATE_LIMITED", retry_after_s=30), now=0)
    assert policy.pick_next([_M("a", "a1"), _M("b", "b1")], set(), 29) == 1
    assert policy.pick_next([_M("a", "a1"), _M("b", "b1")], set(), 30) == 0
    # no delay given: the configured default applies; rate limits never open the circuit
    policy.on_error("c", "c1", UpstreamError("429", reason="RATE_LIMITED"), now=0)
    assert not policy.usable("c", "c1", 2.9) and policy.usable("c", "c1", 3)
    assert policy.circuits.state("c", "c1", 0) is CircuitState.CLOSED


def test_server_errors_open_the_circuit_and_client_errors_do_not() -> None:
    policy = _policy()
    for _ in range(2):
        policy.on_error("a", "a1", UpstreamError("500", reason="UPSTREAM_5XX"), now=0)
    assert policy.circuits.state("a", "a1", 0) is CircuitState.OPEN
    for _ in range(5):
        policy.on_error("b", "b1", UpstreamError("too long", reason="CONTEXT_LENGTH_EXCEEDED"), now=0)
    assert policy.circuits.state("b", "b1", 0) is CircuitState.CLOSED
    assert policy.pick_next([_M("a", "a1")], set(), 1) is None
