"""Router configuration (env prefix BOURSE_ROUTER). Unknown keys are rejected at start-up."""

from __future__ import annotations

from typing import Annotated

import msgspec

ENV_PREFIX = "BOURSE_ROUTER"


class BudgetRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Spend and request-rate limits of one tenant, or of one API key of a tenant. 0 means no limit."""

    tenant: str
    key_id: str = ""  # "" applies to the whole tenant
    daily_micro_usd: int = 0
    monthly_micro_usd: int = 0
    requests_per_minute: int = 0


class RouterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    listen: str = "127.0.0.1:50051"
    nats_url: str = "nats://127.0.0.1:4222"
    adapter_target: str = "127.0.0.1:50052"
    cache_target: str = ""  # "" = no cache tier
    inference_target: str = ""  # "" = no local tier
    log_level: str = "info"
    metrics_listen: str = ""
    # Append-only file where events wait while NATS is unreachable ("" keeps them in memory only, bounded).
    event_spool_path: str = ""
    # Market data (read by services/router/market.py and the manifest loader).
    manifest_path: str = ""  # "" = the packaged default manifest
    litellm_prices_path: str = ""
    pricing_poll_url: str = ""
    pricing_poll_interval_s: float = 300.0
    # Warn (log + bourse_router_stale_price_routes_total) when a model routed to has no price newer than this.
    max_price_age_days: Annotated[float, msgspec.Meta(gt=0)] = 90.0
    # Execution.
    default_max_attempts: int = 3
    total_deadline_s: float = 60.0
    cache_deadline_ms: float = 20.0
    local_deadline_s: float = 10.0
    # Per task kind, the confidence a local answer needs to be served (overrides the calibrated defaults in
    # services/router/core/execution/tiers.py, LOCAL_MIN_CONFIDENCE); below it the request escalates (LOW_CONFIDENCE).
    local_min_confidence: dict[str, Annotated[float, msgspec.Meta(ge=0, le=1)]] = msgspec.field(default_factory=dict)
    default_retry_after_s: float = 1.0  # a 429 that named no delay keeps the model out this long
    circuit_failure_threshold: int = 5
    circuit_open_s: float = 30.0
    circuit_half_open_probes: int = 1
    # Fraction of each model's account RPM/TPM (manifest rate_limits) this replica may use: 1 / replicas.
    # 0 turns the rate-limit headroom filter off (the provider's own 429s are still honoured).
    rate_limit_share: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    # Publish Retry-After blocks and circuit changes on bourse.circuit.> and apply the other replicas' ones.
    share_availability: bool = True
    # Budgets, shared by every replica through a NATS KV bucket.
    budgets: list[BudgetRule] = msgspec.field(default_factory=list)
    budget_bucket: str = "bourse_budgets"
    budget_alert_thresholds_pct: list[int] = msgspec.field(default_factory=lambda: [50, 80, 100])
    shutdown_grace_s: float = 5.0
