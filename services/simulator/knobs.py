"""Per-model behaviour of the simulator, from its config file: latency, streaming pace, errors, limits."""

from __future__ import annotations

import random

import msgspec

FAULT_KINDS = frozenset(
    {
        "rate_limit",
        "overloaded",
        "server_error",
        "drop_stream",
        "stream_error",
        "context_length",
        "timeout",
        "authentication",
    }
)


class Latency(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Whole-response latency of non-streamed calls. kind: "fixed", "normal" or "long_tail"."""

    kind: str = "fixed"
    mean_ms: float = 0.0
    stddev_ms: float = 0.0
    # long_tail: with this probability the call takes tail_ms instead.
    tail_probability: float = 0.0
    tail_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("fixed", "normal", "long_tail"):
            raise ValueError("latency.kind must be fixed, normal or long_tail")

    def sample_s(self, rng: random.Random) -> float:
        ms = self.mean_ms
        if self.kind in ("normal", "long_tail") and self.stddev_ms > 0:
            ms = rng.gauss(self.mean_ms, self.stddev_ms)
        if self.kind == "long_tail" and rng.random() < self.tail_probability:
            ms = self.tail_ms
        return max(0.0, ms) / 1000


class Burst(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Requests number n (per model, from 0) with n % every < length fail with `kind` (429 bursts, 529 spells)."""

    kind: str
    every: int
    length: int
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"burst kind must be one of {sorted(FAULT_KINDS)}")
        if self.every <= 0 or self.length < 0:
            raise ValueError("burst needs every > 0 and length >= 0")


# A poor answer starts with this marker, so a test or benchmark can score it low in its feedback.
POOR_ANSWER_MARKER = "[poor answer]"


class ModelKnobs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    latency: Latency = Latency()
    # Streams: delay before the first token, then between tokens.
    ttft_ms: float = 0.0
    inter_token_ms: float = 0.0
    # Length of the reply in tokens (capped by the request's max tokens, which then ends with "length").
    output_tokens: int = 12
    # Prompt tokens above this fail with the provider's context-length error.
    context_window: int = 128_000
    # Probability per request of each fault kind (drawn from the model's seeded generator).
    error_rates: dict[str, float] = {}
    bursts: list[Burst] = []
    # Retry-After sent with rate-limit and overload errors.
    retry_after_s: float = 1.0
    # Share of prompt tokens reported as read from the provider's prompt cache.
    cached_fraction: float = 0.0
    # Share of completion tokens reported as reasoning tokens.
    reasoning_fraction: float = 0.0
    # The model answers poorly (a reply starting with POOR_ANSWER_MARKER) when the prompt contains any of these
    # texts: a task kind's prompts, in closed-loop tests of quality-aware routing.
    poor_on: list[str] = []

    def __post_init__(self) -> None:
        unknown = set(self.error_rates) - FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown error kinds {sorted(unknown)}; known: {sorted(FAULT_KINDS)}")
