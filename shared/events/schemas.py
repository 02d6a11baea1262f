"""Event payloads: msgspec Structs encoded as JSON. `scripts/gen_event_schemas.py` writes their JSON Schema
to schemas/events/ so subscribers in any language can validate them.

Events never carry prompt or completion text, nor secrets. Every event has a schema version `v`.
"""

from __future__ import annotations

import msgspec


class AttemptRecord(msgspec.Struct, kw_only=True):
    """One try at answering a request."""

    provider: str
    model: str
    served_from: str  # "local" | "cache" | "remote"
    outcome: str  # "success" | "error" | "invalid_output" | "cancelled" | "miss"
    error_reason: str = ""
    latency_ms: float = 0.0
    cost_micro_usd: int = 0


class TelemetryEvent(msgspec.Struct, kw_only=True):
    """Published once per request on bourse.telemetry.<provider>.<model> (Nats-Msg-Id = request_id)."""

    v: int = 1
    request_id: str
    ts_ms: int  # epoch milliseconds when the request finished
    tenant: str
    key_id: str = ""
    task_kind: str  # "chat" | "classification" | ... (TaskKind without prefix, lower case)
    provider: str  # answering provider ("local", "cache", or "" when every attempt failed)
    model: str
    region: str = ""
    served_from: str  # "local" | "cache" | "remote" | "none"
    stream: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_long_tokens: int = 0  # of cache_write_tokens, those with a long (1-hour) cache lifetime
    usage_estimated: bool = False
    estimated_prompt_tokens: int = 0  # the router's pre-call estimate, for calibration
    cost_micro_usd: int = 0
    saved_micro_usd: int = 0  # for cache/local answers: what the cheapest qualified remote model would have cost
    latency_ms: float = 0.0
    upstream_ms: float = 0.0
    ttft_ms: float | None = None
    retries: int = 0
    attempts: list[AttemptRecord] = msgspec.field(default_factory=list)
    outcome: str = "ok"  # "ok" | "error"
    error_reason: str = ""
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class PriceUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Published on bourse.pricing.<provider>.<model>. Prices in USD per million tokens.

    A field left out keeps its current value. `allow_large_change` must be set for a change of more than
    100x (up or down); otherwise the router rejects the update as implausible.
    """

    v: int = 1
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
    """Published once per request on bourse.cost.<tenant> (Nats-Msg-Id = request_id)."""

    v: int = 1
    request_id: str
    ts_ms: int
    tenant: str
    key_id: str = ""
    provider: str
    model: str
    served_from: str
    task_kind: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_micro_usd: int = 0
    saved_micro_usd: int = 0


class BudgetAlert(msgspec.Struct, kw_only=True):
    """Published on bourse.alerts.budget.<tenant> when spend crosses 50, 80 or 100% of a limit."""

    v: int = 1
    ts_ms: int
    tenant: str
    limit: str  # "daily" | "monthly"
    threshold_pct: int  # 50 | 80 | 100
    spent_micro_usd: int
    limit_micro_usd: int
    period: str  # "2026-11-28" or "2026-11"


class Feedback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A quality score for a request, on bourse.feedback.<tenant>."""

    v: int = 1
    request_id: str
    tenant: str
    score: float  # 0 (bad) to 1 (good)
    ts_ms: int = 0
    comment: str = ""


class AvailabilityEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A router replica's Retry-After block or circuit change, on bourse.circuit.<provider>.<model> (core NATS,
    not stored: the state is ephemeral). Receivers apply `duration_ms` to their own clock; `until_ms` is the
    sender's wall-clock view, for people reading the event."""

    v: int = 1
    provider: str
    model: str  # "" with kind "retry_after": the whole provider (the API key) is blocked
    kind: str  # "retry_after" | "circuit_open" | "circuit_closed"
    duration_ms: int = 0  # how long the block or the open circuit lasts from ts_ms (0 for circuit_closed)
    until_ms: int = 0  # epoch milliseconds, on the sender's clock
    origin: str  # the replica id of the router that learnt it
    ts_ms: int  # epoch milliseconds when it was published


EVENT_TYPES: dict[str, type[msgspec.Struct]] = {
    "telemetry": TelemetryEvent,
    "pricing": PriceUpdate,
    "cost": CostEvent,
    "budget_alert": BudgetAlert,
    "feedback": Feedback,
    "availability": AvailabilityEvent,
}
