"""Event payloads: msgspec Structs encoded as JSON. `scripts/gen_event_schemas.py` writes their JSON Schema
to schemas/events/ so subscribers in any language can validate them.

Events never carry prompt or completion text, nor secrets. Every event has a schema version `v`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# Integer and float fields are bounded, so an event a store could not hold (`ts_ms = 1e30`) fails at decode and is
# dead-lettered by the consumer instead of failing every write of its batch. Limits fit DuckDB's BIGINT/INTEGER.
TimestampMs = Annotated[int, msgspec.Meta(ge=0, le=4_102_444_800_000)]  # epoch ms, at most 2100-01-01
Tokens = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
MicroUsd = Annotated[int, msgspec.Meta(ge=-(10**15), le=10**15)]  # a billion dollars either way
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
DurationMs = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
Version = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Millis = Annotated[float, msgspec.Meta(ge=0.0, le=1e10)]  # a measured duration in ms (115 days at most)


class AttemptRecord(msgspec.Struct, kw_only=True):
    """One try at answering a request."""

    provider: str
    model: str
    served_from: str  # "local" | "cache" | "remote"
    outcome: str  # "success" | "error" | "invalid_output" | "cancelled" | "miss"
    error_reason: str = ""
    latency_ms: Millis = 0.0
    cost_micro_usd: MicroUsd = 0


class TelemetryEvent(msgspec.Struct, kw_only=True):
    """Published once per request on bourse.telemetry.<provider>.<model> (Nats-Msg-Id = request_id, the id the
    router assigned; `client_request_id` is the caller's correlation id)."""

    v: Version = 1
    request_id: str
    ts_ms: TimestampMs  # epoch milliseconds when the request finished
    tenant: str
    key_id: str = ""
    task_kind: str  # "chat" | "classification" | ... (TaskKind without prefix, lower case)
    provider: str  # answering provider ("local", "cache", or "" when every attempt failed)
    model: str
    region: str = ""
    served_from: str  # "local" | "cache" | "remote" | "none"
    stream: bool = False
    prompt_tokens: Tokens = 0
    completion_tokens: Tokens = 0
    cached_tokens: Tokens = 0
    cache_write_tokens: Tokens = 0
    reasoning_tokens: Tokens = 0
    cache_write_long_tokens: Tokens = 0  # of cache_write_tokens, those with a long (1-hour) cache lifetime
    usage_estimated: bool = False
    estimated_prompt_tokens: Tokens = 0  # the router's pre-call estimate, for calibration
    cost_micro_usd: MicroUsd = 0
    saved_micro_usd: MicroUsd = 0  # for cache/local answers: what the cheapest qualified remote model would have cost
    latency_ms: Millis = 0.0
    upstream_ms: Millis = 0.0
    ttft_ms: Millis | None = None
    retries: Count = 0
    attempts: list[AttemptRecord] = msgspec.field(default_factory=list)
    outcome: str = "ok"  # "ok" | "error"
    error_reason: str = ""
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    client_request_id: str = ""


class PriceUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Published on bourse.pricing.<provider>.<model>. Prices in USD per million tokens.

    A field left out keeps its current value. `allow_large_change` must be set for a change of more than
    100x (up or down); otherwise the router rejects the update as implausible.
    """

    v: Version = 1
    provider: str
    model: str
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    reasoning_per_mtok: float | None = None
    as_of: str = ""  # ISO date or time the price was taken
    source: str = ""  # who published it ("manifest", "openrouter", a user)
    allow_large_change: bool = False


class CostEvent(msgspec.Struct, kw_only=True):
    """Published once per request on bourse.cost.<tenant> (Nats-Msg-Id = request_id, the router's id)."""

    v: Version = 1
    request_id: str
    ts_ms: TimestampMs
    tenant: str
    key_id: str = ""
    provider: str
    model: str
    served_from: str
    task_kind: str
    prompt_tokens: Tokens = 0
    completion_tokens: Tokens = 0
    cost_micro_usd: MicroUsd = 0
    saved_micro_usd: MicroUsd = 0
    client_request_id: str = ""


class BudgetAlert(msgspec.Struct, kw_only=True):
    """Published on bourse.alerts.budget.<tenant> when spend crosses 50, 80 or 100% of a limit."""

    v: Version = 1
    ts_ms: TimestampMs
    tenant: str
    limit: str  # "daily" | "monthly"
    threshold_pct: Count  # 50 | 80 | 100
    spent_micro_usd: MicroUsd
    limit_micro_usd: MicroUsd
    period: str  # "2026-11-28" or "2026-11"


class Feedback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A quality score for a request, on bourse.feedback.<tenant>."""

    v: Version = 1
    request_id: str
    tenant: str
    score: float  # 0 (bad) to 1 (good)
    ts_ms: TimestampMs = 0
    comment: str = ""


class AvailabilityEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A router replica's Retry-After block or circuit change, on bourse.circuit.<provider>.<model> (core NATS,
    not stored: the state is ephemeral). Receivers apply `duration_ms` to their own clock; `until_ms` is the
    sender's wall-clock view, for people reading the event."""

    v: Version = 1
    provider: str
    model: str  # "" with kind "retry_after": the whole provider (the API key) is blocked
    kind: str  # "retry_after" | "circuit_open" | "circuit_closed"
    duration_ms: DurationMs = 0  # how long the block or the open circuit lasts from ts_ms (0 for circuit_closed)
    until_ms: TimestampMs = 0  # epoch milliseconds, on the sender's clock
    origin: str  # the replica id of the router that learnt it
    ts_ms: TimestampMs  # epoch milliseconds when it was published


EVENT_TYPES: dict[str, type[msgspec.Struct]] = {
    "telemetry": TelemetryEvent,
    "pricing": PriceUpdate,
    "cost": CostEvent,
    "budget_alert": BudgetAlert,
    "feedback": Feedback,
    "availability": AvailabilityEvent,
}
