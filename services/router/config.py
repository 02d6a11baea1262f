"""Router configuration (env prefix BOURSE_ROUTER). Unknown keys are rejected at start-up."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shared.events.credentials import NatsAuth

ENV_PREFIX = "BOURSE_ROUTER"


class BudgetRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Spend and request-rate limits of one tenant, or of one API key of a tenant. 0 means no limit."""

    tenant: str
    key_id: str = ""  # "" applies to the whole tenant
    daily_micro_usd: int = 0
    monthly_micro_usd: int = 0
    requests_per_minute: int = 0


class QualityConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Quality-aware routing (docs/router-quality.md)."""

    # The difficulty predictor's weights ("" = the packaged services/router/data/quality_predictor.json).
    predictor_path: str = ""
    # What a request that names no quality policy gets: "balanced" (the cheapest model meeting the quality
    # target) or "cheapest" (the cheapest qualified model, quality only through min_quality).
    default_policy: str = "balanced"
    # False: no predictor and no encoder in this process (estimates use priors and evidence only).
    use_predictor: bool = True
    # Threads of the router's one sentence encoder.
    encoder_threads: Annotated[int, msgspec.Meta(ge=1)] = 1
    # Quality targets per task kind (override the built-in ones), and per tenant and task kind.
    default_targets: dict[str, Annotated[float, msgspec.Meta(ge=0, lt=1)]] = {}
    tenant_targets: dict[str, dict[str, Annotated[float, msgspec.Meta(ge=0, lt=1)]]] = {}
    # How many outcomes the manifest's score is worth against the tenant's evidence.
    prior_strength: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    # Evidence loses half its weight in this time.
    evidence_half_life_s: Annotated[float, msgspec.Meta(gt=0)] = 3 * 24 * 3600.0
    # Memory bounds: (tenant, task kind, model) posteriors kept, request ids remembered for feedback.
    max_evidence_keys: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    max_served_requests: Annotated[int, msgspec.Meta(ge=1)] = 200_000
    # How long the evidence stream keeps outcomes (a restarted replica replays them).
    evidence_retention_s: Annotated[float, msgspec.Meta(gt=0)] = 30 * 24 * 3600.0

    def __post_init__(self) -> None:
        if self.default_policy not in ("balanced", "cheapest"):
            raise ValueError(f"quality.default_policy must be balanced or cheapest, not {self.default_policy!r}")


class RouterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    listen: str = "127.0.0.1:50051"
    nats_url: str = "nats://127.0.0.1:4222"
    # NATS user, password file and TLS files (docs/nats-permissions.md); the default connects without any.
    nats_auth: NatsAuth = msgspec.field(default_factory=NatsAuth)
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
    quality: QualityConfig = msgspec.field(default_factory=QualityConfig)
