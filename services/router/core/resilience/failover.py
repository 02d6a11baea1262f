"""Failover policy: which candidate to try next, and what an error teaches the router.

On a retryable error the router moves to the next candidate, preferring a provider that has not failed this
request yet; a non-retryable error (the request itself is bad) ends the request. Rate limits feed the
Retry-After book; server-side failures feed the circuit breaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.router.core.resilience.backoff import RetryAfterBook
from services.router.core.resilience.circuit import CircuitBreakers
from services.router.core.resilience.headroom import RateLimitHeadroom
from shared.errors import BourseError, Reason

# Reasons that say "this provider or model is unhealthy" (counted by the circuit breaker).
CIRCUIT_REASONS = frozenset(
    {
        Reason.OVERLOADED,
        Reason.QUEUE_FULL,  # the local model's queue (it was OVERLOADED too before the catalogue named it)
        Reason.UPSTREAM_5XX,
        Reason.CONNECT_TIMEOUT,
        Reason.CONNECT_FAILED,
        Reason.READ_TIMEOUT,
        Reason.DEADLINE,
        Reason.CONNECTION_DROPPED,
        Reason.BAD_RESPONSE,
        Reason.UPSTREAM_ERROR,
        Reason.UPSTREAM_UNAVAILABLE,
    }
)
RATE_LIMIT_REASONS = frozenset({Reason.RATE_LIMITED})


class HasModel(Protocol):
    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...


@dataclass(slots=True)
class AttemptResult:
    """One try at answering, as reported in the response and in telemetry."""

    provider: str
    model: str
    served_from: str  # "local" | "cache" | "remote"
    outcome: str  # "success" | "error" | "invalid_output" | "cancelled" | "miss"
    region: str = ""
    error_reason: str = ""
    latency_s: float = 0.0
    cost_micro_usd: int = 0
    served_from_detail: str = ""  # local attempts: "score" | "guided" | "free" | "exact_match"
    confidence: float = 0.0  # local attempts: the answer's confidence, compared with the per-kind threshold


class FailoverPolicy:
    """Shared by every request of one router: the circuit breakers and the Retry-After book."""

    def __init__(
        self,
        circuits: CircuitBreakers,
        retry_after: RetryAfterBook,
        *,
        default_retry_after_s: float,
        headroom: RateLimitHeadroom | None = None,
    ) -> None:
        self.circuits = circuits
        self.retry_after = retry_after
        self.headroom = headroom
        self._default_retry_after_s = default_retry_after_s

    def usable(self, provider: str, model: str, now: float) -> bool:
        return self.retry_after.blocked_until(provider, model, now) is None and self.circuits.allows(
            provider, model, now
        )

    def pick_next(self, remaining: Sequence[HasModel], failed_providers: set[str], now: float) -> int | None:
        """Index of the next candidate to try: the first usable one from a provider that has not failed this
        request, else the first usable one. None when every remaining candidate is blocked."""
        fallback: int | None = None
        for index, candidate in enumerate(remaining):
            if not self.usable(candidate.provider, candidate.model, now):
                continue
            if candidate.provider not in failed_providers:
                return index
            if fallback is None:
                fallback = index
        return fallback

    def on_start(self, provider: str, model: str, now: float, tokens: int = 0) -> None:
        self.circuits.on_attempt(provider, model, now)
        if self.headroom is not None:
            self.headroom.record(provider, model, tokens, now)

    def on_success(self, provider: str, model: str) -> None:
        self.circuits.on_success(provider, model)

    def on_error(self, provider: str, model: str, error: BourseError, now: float) -> None:
        """Learn from a failed attempt: Retry-After for rate limits (and any error that names a delay),
        a circuit failure for server-side trouble."""
        if error.reason in RATE_LIMIT_REASONS:
            delay = error.retry_after_s if error.retry_after_s is not None else self._default_retry_after_s
            self.retry_after.record(provider, model, delay, now)
        elif error.retry_after_s is not None and error.retryable:
            self.retry_after.record(provider, model, error.retry_after_s, now)
        if error.reason in CIRCUIT_REASONS:
            self.circuits.on_failure(provider, model, now)
